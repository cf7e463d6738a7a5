/**
 * Why a sysfs read failed:
 * - `invalid-name`: a PCI address or RDMA device name would not stay inside the sysfs root
 *   (contains `/` or NUL, is empty, `.` or `..`);
 * - `corrupt`: a file exists but its contents are not what the kernel writes there;
 * - `io`: the read failed for a reason other than absence (the `cause` is the `LibcError`).
 */
export type SysfsErrorCode = "invalid-name" | "corrupt" | "io";

/**
 * A failure to read sysfs; its message says what is wrong, the caller says what it was reading
 * for. Absence is never an error: the `Sysfs` methods report it as `null` or an empty list. The
 * plugin layer reports it as `CniError` code 101 (`kernelStep`), whatever its code.
 */
export class SysfsError extends Error {
  override name = "SysfsError";

  /** @param path the file involved (for `invalid-name`: the rejected name) */
  constructor(
    readonly code: SysfsErrorCode,
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
