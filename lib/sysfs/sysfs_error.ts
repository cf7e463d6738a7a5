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
 * const err = new SysfsError("invalid-name", "../x", 'Invalid PCI address "../x"', {
 *   reason: "invalid PCI address",
 * });
 * err.code; // "invalid-name"
 * ```
 */
export class SysfsError extends PathError {
  override name = "SysfsError";
  /** What went wrong, without the path, for callers that name the device their own way. */
  readonly reason: string;

  /**
   * @param code the kind of failure
   * @param path the file involved, or the rejected name
   * @param message a one-line message that names `path`
   * @param options `reason` (the message without the path), `cause` (the underlying error)
   */
  constructor(
    code: SysfsErrorCode,
    path: string,
    message: string,
    options: { cause?: unknown; reason: string },
  ) {
    super(code, path, message, { cause: options.cause });
    this.reason = options.reason;
  }
}
