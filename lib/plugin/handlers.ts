import type { CniHandlers, CniRequest } from "../cni/dispatch.ts";
import { CniError, CniErrorCode } from "../cni/errors.ts";
import { StateError } from "../state/state_error.ts";
import { cmdAdd } from "./add.ts";
import { cmdCheck } from "./check.ts";
import { cmdDel } from "./del.ts";
import type { Deps } from "./deps.ts";
import { cmdGc } from "./gc.ts";
import { cmdStatus } from "./status.ts";

/** Gives a state directory failure its own code (103) instead of the catch-all 999. */
function withStateErrors<T>(
  handler: (deps: Deps, req: CniRequest) => Promise<T>,
  deps: () => Deps,
): (req: CniRequest) => Promise<T> {
  return async (req) => {
    try {
      return await handler(deps(), req);
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
 * argument errors never build (or load the libraries behind) the real ones.
 *
 * @param deps builds the dependencies on first use
 * @returns the handler table for `dispatch()`
 */
export function createHandlers(deps: () => Deps): CniHandlers {
  return {
    add: withStateErrors(cmdAdd, deps),
    del: withStateErrors(cmdDel, deps),
    check: withStateErrors(cmdCheck, deps),
    status: withStateErrors(cmdStatus, deps),
    gc: withStateErrors(cmdGc, deps),
  };
}
