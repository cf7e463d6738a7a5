import type { CniHandlers, CniRequest } from "../cni/dispatch.ts";
import { CniError, CniErrorCode } from "../cni/errors.ts";
import { StateError } from "../state/state_error.ts";
import type { Deps } from "./deps.ts";

/** Gives a state directory failure its own code (103) instead of the catch-all 999. */
function withStateErrors<T>(
  handler: (deps: Deps, req: CniRequest) => Promise<T>,
  deps: () => Deps | Promise<Deps>,
): (req: CniRequest) => Promise<T> {
  return async (req) => {
    try {
      return await handler(await deps(), req);
    } catch (err) {
      if (!(err instanceof StateError)) throw err;
      throw new CniError(CniErrorCode.StateError, err.message, {
        details: `state file ${err.path}`,
        cause: err,
      });
    }
  };
}

/**
 * The plugin's handlers over a set of dependencies. `deps` is a function so that VERSION and
 * argument errors never build (or load the libraries behind) the real ones, and each command's
 * module is imported when it runs, so VERSION and DEL never evaluate what only ADD needs.
 *
 * @param deps builds the dependencies on first use
 * @returns the handler table for `dispatch()`
 */
export function createHandlers(deps: () => Deps | Promise<Deps>): CniHandlers {
  return {
    add: withStateErrors(async (d, r) => (await import("./add.ts")).cmdAdd(d, r), deps),
    del: withStateErrors(async (d, r) => (await import("./del.ts")).cmdDel(d, r), deps),
    check: withStateErrors(async (d, r) => (await import("./check.ts")).cmdCheck(d, r), deps),
    status: withStateErrors(async (d, r) => (await import("./status.ts")).cmdStatus(d, r), deps),
    gc: withStateErrors(async (d, r) => (await import("./gc.ts")).cmdGc(d, r), deps),
  };
}
