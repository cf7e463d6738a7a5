import type { CniHandlers } from "../cni/dispatch.ts";
import { cmdAdd } from "./add.ts";
import { cmdCheck } from "./check.ts";
import { cmdDel } from "./del.ts";
import type { Deps } from "./deps.ts";
import { cmdGc } from "./gc.ts";
import { cmdStatus } from "./status.ts";

/**
 * The plugin's handlers over a set of dependencies. `deps` is a function so that VERSION and
 * argument errors never build (or load the libraries behind) the real ones.
 *
 * @param deps builds the dependencies on first use
 * @returns the handler table for `dispatch()`
 */
export function createHandlers(deps: () => Deps): CniHandlers {
  return {
    add: (req) => cmdAdd(deps(), req),
    del: (req) => cmdDel(deps(), req),
    check: (req) => cmdCheck(deps(), req),
    status: (req) => cmdStatus(deps(), req),
    gc: (req) => cmdGc(deps(), req),
  };
}
