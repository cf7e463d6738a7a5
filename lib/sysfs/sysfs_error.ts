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
 * A failure to read sysfs; its message says what is wrong, the caller says what it was reading
 * for. Absence is never an error: the `Sysfs` methods report it as `null` or an empty list. The
 * plugin layer reports it as `CniError` code 101 (`kernelStep`), whatever its code.
 */
export class SysfsError extends PathError<SysfsErrorCode> {
  override name = "SysfsError";
}
