import type { CniHandlers, CniRequest } from "../cni/dispatch.ts";
import type { Deps } from "./deps.ts";

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
    add: lazy(async (d, r) => (await import("./add.ts")).cmdAdd(d, r), deps),
    del: lazy(async (d, r) => (await import("./del.ts")).cmdDel(d, r), deps),
    check: lazy(async (d, r) => (await import("./check.ts")).cmdCheck(d, r), deps),
    status: lazy(async (d, r) => (await import("./status.ts")).cmdStatus(d, r), deps),
    gc: lazy(async (d, r) => (await import("./gc.ts")).cmdGc(d, r), deps),
  };
}

/** Builds the dependencies, then runs the handler. */
function lazy<T>(
  handler: (deps: Deps, req: CniRequest) => Promise<T>,
  deps: () => Deps | Promise<Deps>,
): (req: CniRequest) => Promise<T> {
  return async (req) => handler(await deps(), req);
}
