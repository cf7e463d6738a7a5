/**
 * Why a state operation failed:
 * - `invalid-name`: a container ID, interface name, PCI address or lock name would not stay
 *   inside the state directory (contains `/` or NUL, is empty, `.` or `..`);
 * - `corrupt`: a file exists but is not a record we (or the Go plugin) could have written;
 * - `io`: a file or directory could not be used: its `rule` says why;
 * - `busy`: a lock was not free in time (its `path` is the lock file);
 * - `taken`: a device is allocated to another live attachment (its `path` is the allocation
 *   record).
 */
export type StateErrorCode = "invalid-name" | "corrupt" | "io" | "busy" | "taken";

/**
 * The rule a path broke, for an `io` error:
 * - `name`: not a plain relative path beneath its directory (absolute, empty, `.`/`..` or empty
 *   components, NUL), or a directory that is not an absolute normalised path;
 * - `symlink`: a symbolic link at some component;
 * - `not-regular`: a FIFO, device, socket or directory where a regular file must be;
 * - `not-directory`: the directory, or a component beneath it, is no directory;
 * - `owner`: the directory is not owned by the process's user, or a group or others may write it;
 * - `linked`: a regular file with more than one name (a hard link to a file elsewhere);
 * - `missing`: the directory, or a directory beneath it, does not exist;
 * - `unsupported`: the kernel has no `openat2()` (before Linux 5.6);
 * - `io`: any other failure of the filesystem.
 */
export type PathRule =
  | "name"
  | "symlink"
  | "not-regular"
  | "not-directory"
  | "owner"
  | "linked"
  | "missing"
  | "unsupported"
  | "io";

/**
 * The rules a path itself breaks, as opposed to the state of the node (`missing`, `owner`,
 * `unsupported`, `io`): a config that names such a path is wrong whatever the node does.
 */
export const PATH_RULES: ReadonlySet<PathRule> = new Set<PathRule>([
  "name",
  "symlink",
  "not-regular",
  "not-directory",
  "linked",
]);

/**
 * A failure of the files the plugin keeps or writes (attachment cache, allocation records, locks,
 * `logFile`, device-info files). The plugin layer gives it a CNI code (`stateErrorToCni` in
 * `lib/plugin/to_cni_error.ts`), or, for a `corrupt` attachment record on DEL, logs it and
 * carries on so that DEL can succeed.
 */
export class StateError extends Error {
  override name = "StateError";
  /** The rule a path broke (code `io` only). */
  readonly rule: PathRule | undefined;
  /** Why, without the path, when the message is `Cannot <verb> "<path>": <reason>`. */
  readonly reason: string | undefined;

  /** @param path the file involved (for `invalid-name`: the rejected name) */
  constructor(
    readonly code: StateErrorCode,
    readonly path: string,
    message: string,
    options: { cause?: unknown; rule?: PathRule; reason?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.rule = options.rule;
    this.reason = options.reason;
  }
}

/** The `io` error of a path that broke `rule`: `Cannot <verb> "<path>": <reason>`. */
export function pathError(
  rule: PathRule,
  path: string,
  verb: string,
  reason: string,
  cause?: unknown,
): StateError {
  return new StateError("io", path, `Cannot ${verb} "${path}": ${reason}`, { rule, reason, cause });
}
