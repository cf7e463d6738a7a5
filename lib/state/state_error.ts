import { PathError, type PathErrorCode } from "../path_error.ts";

/**
 * Why a state operation failed:
 * - `invalid-name`: a container ID, interface name, PCI address or lock name would not stay
 *   inside the state directory (contains `/` or NUL, is empty, `.` or `..`);
 * - `corrupt`: a file exists but is not a record we (or the Go plugin) could have written;
 * - `io`: the filesystem refused a read, write, rename or remove;
 * - `busy`: a lock was not free in time (its `path` is the lock file);
 * - `taken`: a device is allocated to another live attachment (its `path` is the allocation
 *   record).
 */
export type StateErrorCode = PathErrorCode | "busy" | "taken";

/**
 * A failure of the state directory (attachment cache, allocation records, locks). The plugin
 * layer gives it a CNI code (`stateErrorToCni` in `lib/plugin/to_cni_error.ts`), or, for a
 * `corrupt` attachment record on DEL, logs it and carries on so that DEL can succeed.
 *
 * @example
 * ```ts
 * import { StateError } from "./state_error.ts";
 * const err = new StateError("corrupt", "/var/lib/cni/ib-sriov/c1-net1", "not JSON");
 * err.code; // "corrupt"
 * ```
 */
export class StateError extends PathError<StateErrorCode> {
  override name = "StateError";
}
