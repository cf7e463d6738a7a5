import type { CniHandlers, CniRequest } from "../cni/dispatch.ts";
import type { Deps } from "./deps.ts";
import type { Timings } from "../timings.ts";

/**
 * The plugin's handlers over a set of dependencies. `deps` is a function so that VERSION and
 * argument errors never build (or load the libraries behind) the real ones, and each command's
 * module is imported when it runs, so VERSION and DEL never evaluate what only ADD needs.
 *
 * @param timings the run's timeline, marked when the config has been validated (the same one
 *   as the dependencies' `timings`, which they may build only after that point)
 */
export function createHandlers(
  deps: () => Deps | Promise<Deps>,
  timings?: Timings,
): CniHandlers {
  const run = <T>(handler: (deps: Deps, req: CniRequest) => Promise<T>) =>
    timed(handler, deps, timings);
  return {
    add: run(async (d, r) => (await import("./add.ts")).cmdAdd(d, r)),
    del: run(async (d, r) => (await import("./del.ts")).cmdDel(d, r)),
    check: run(async (d, r) => (await import("./check.ts")).cmdCheck(d, r)),
    status: run(async (d, r) => (await import("./status.ts")).cmdStatus(d, r)),
    gc: run(async (d, r) => (await import("./gc.ts")).cmdGc(d, r)),
    failed: async (r, err) =>
      (await import("./request_logger.ts")).logFailure(await deps(), r, err),
  };
}

/** The dependencies whose every call is a span of the timeline, named `<dep>.<method>`. */
const TIMED = ["sysfs", "netlink", "pciDriver", "rdma", "ipam", "store", "deviceInfo"] as const;

/**
 * A command's handler: builds the dependencies, then runs the command with its calls timed;
 * when it is done, the timeline goes to whoever asked for it (the debug log).
 */
function timed<T>(
  handler: (deps: Deps, req: CniRequest) => Promise<T>,
  deps: () => Deps | Promise<Deps>,
  timings: Timings | undefined,
): (req: CniRequest) => Promise<T> {
  return async (req) => {
    timings?.mark("config validated");
    const d = await deps();
    d.timings?.mark("dependencies loaded");
    try {
      const t = d.timings;
      const traced = t === undefined
        ? d
        : { ...d, ...Object.fromEntries(TIMED.map((name) => [name, t.timed(d[name], name)])) };
      return await handler(traced, req);
    } finally {
      d.timings?.finish("command done");
    }
  };
}
