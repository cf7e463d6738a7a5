import { PathError, type PathErrorCode } from "../path_error.ts";

/**
 * Why a sysfs read failed:
 * - `invalid-name`: a PCI address or RDMA device name would not stay inside the sysfs root
 *   (contains `/` or NUL, is empty, `.` or `..`);
 * - `corrupt`: a file exists but its contents are not what the kernel writes there;
 * - `io`: the read failed for a reason other than absence (the `cause` is a `LibcError` with the
 *   errno name in its `code`).
 */
export type SysfsErrorCode = PathErrorCode;

/**
 * A failure to read sysfs. Absence is never an error: the `Sysfs` methods report it as `null` or
 * an empty list. The plugin layer maps it to `CniError` code 101 (`CniErrorCode.KernelError`), or
 * 100 (`DeviceError`) for `invalid-name`.
 *
 * @example
 * ```ts
 * import { SysfsError } from "./sysfs_error.ts";
 * const err = new SysfsError("invalid-name", "../x", 'Invalid PCI address "../x"');
 * err.code; // "invalid-name"
 * ```
 */
export class SysfsError extends PathError {
  override name = "SysfsError";
}
