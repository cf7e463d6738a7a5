/**
 * Why a file-backed operation failed:
 * - `invalid-name`: a name (PCI address, container ID, RDMA device…) would not stay inside its
 *   root directory (contains `/` or NUL, is empty, `.` or `..`);
 * - `corrupt`: a file exists but its contents are not what its writer would write;
 * - `io`: the filesystem (or libc) refused the operation for a reason other than absence.
 */
export type PathErrorCode = "invalid-name" | "corrupt" | "io";

/**
 * The common shape of the errors of the two file-backed privileges, sysfs reads
 * (`SysfsError`) and state writes (`StateError`): a code and the path involved. A subclass may
 * add codes of its own.
 */
export class PathError<Code extends string = PathErrorCode> extends Error {
  override name = "PathError";
  /** What kind of failure this is. */
  readonly code: Code;
  /** The file involved (for `invalid-name`: the rejected name). */
  readonly path: string;

  /**
   * @param code the kind of failure
   * @param path the file involved, or the rejected name
   * @param message a one-line message that names `path`
   * @param options `cause`: the underlying error
   */
  constructor(
    code: Code,
    path: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = path;
  }
}
