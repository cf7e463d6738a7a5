/**
 * Files written as root at paths that came from outside the plugin (a network config's
 * `logFile`, the runtime's device-info path), confined beneath one directory the node admin owns.
 *
 * The root directory is opened once, by a path with no symbolic link at any component, and must
 * be a directory owned by the process's user that no group or other user may write; every file
 * is then opened relative to that directory fd with `openat2()` and `RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`, so the kernel refuses a link or a `..` that
 * would leave it at any component, with no window between a check and the open. What is opened
 * must be a regular file with one name: a FIFO, a device, a directory or a hard link to a file
 * elsewhere is refused.
 *
 * @module
 */
import { Errno, LibcError } from "../../ffi/errno.ts";
import {
  APPEND_FLAGS,
  AT_FDCWD,
  close,
  CREATE_NEW_FLAGS,
  fsync,
  geteuid,
  mkdirat,
  O_CLOEXEC,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  openat2,
  readAll,
  renameat,
  RESOLVE_BENEATH,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
  statusAt,
  unlinkat,
  writeAll,
} from "../../ffi/state_libc.ts";
import { basename, dirname, isFileName } from "../path.ts";
import { StateError } from "./state_error.ts";

/**
 * The rule a path broke:
 * - `name`: not a plain relative path beneath the root (absolute, empty, `.`/`..` or empty
 *   components, NUL), or a root that is not an absolute normalised path;
 * - `symlink`: a symbolic link at some component;
 * - `not-regular`: a FIFO, device, socket or directory where a regular file must be;
 * - `not-directory`: the root, or a component beneath it, is no directory;
 * - `owner`: the root is not owned by the process's user, or a group or others may write it;
 * - `linked`: a regular file with more than one name (a hard link to a file elsewhere);
 * - `missing`: the root, or a directory beneath it, does not exist;
 * - `unsupported`: the kernel has no `openat2()` (before Linux 5.6);
 * - `io`: any other failure of the filesystem.
 */
export type ConfinedPathRule =
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
export const PATH_RULES: ReadonlySet<ConfinedPathRule> = new Set<ConfinedPathRule>([
  "name",
  "symlink",
  "not-regular",
  "not-directory",
  "linked",
]);

/**
 * A path beneath a root directory could not be opened or written safely. `code` is `io`;
 * `rule` says which rule it broke, `path` is the whole path.
 *
 * @example
 * ```ts
 * import { openAppendBeneath } from "./confined_path.ts";
 * try {
 *   openAppendBeneath("/var/log/ib-sriov", "../../etc/passwd");
 * } catch (err) {
 *   // err.rule: "name"
 * }
 * ```
 */
export class ConfinedPathError extends StateError {
  override name = "ConfinedPathError";
  /** The rule the path broke. */
  readonly rule: ConfinedPathRule;
  /** Why, without the path: the message is `Cannot <verb> "<path>": <reason>`. */
  readonly reason: string;

  /**
   * @param rule the rule the path broke
   * @param path the whole path
   * @param verb what could not be done, e.g. `open`, `write`
   * @param reason why, naming the rule
   * @param options `cause`: the underlying {@linkcode LibcError}
   */
  constructor(
    rule: ConfinedPathRule,
    path: string,
    verb: string,
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    super("io", path, `Cannot ${verb} "${path}": ${reason}`, options);
    this.rule = rule;
    this.reason = reason;
  }
}

/** How every path beneath a root is walked. */
const BENEATH = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
/**
 * How a directory handle is opened. No `O_NOFOLLOW`: with `O_PATH` it would open a final link
 * itself (then fail `ENOTDIR`) instead of letting `RESOLVE_NO_SYMLINKS` refuse it (`ELOOP`).
 */
const DIR_HANDLE = O_PATH | O_DIRECTORY | O_CLOEXEC;
/** Permission bits that let a group or others add or replace names in a directory. */
const GROUP_OTHER_WRITE = 0o022;
/** The mode of a root directory the plugin creates. */
const ROOT_DIR_MODE = 0o700;

const encoder = new TextEncoder();

/** What tells one failed call from another, by errno. */
function ruleOf(err: LibcError): ConfinedPathRule {
  switch (err.errno) {
    case Errno.ELOOP:
      return "symlink";
    case Errno.EXDEV:
    case Errno.ENAMETOOLONG:
      return "name";
    case Errno.ENXIO:
    case Errno.EISDIR:
      return "not-regular";
    case Errno.ENOTDIR:
      return "not-directory";
    case Errno.ENOENT:
      return "missing";
    case Errno.ENOSYS:
      return "unsupported";
    default:
      return "io";
  }
}

/** The reason a message gives for a rule, or the libc reason for `io`. */
function reasonOf(rule: ConfinedPathRule, err: LibcError): string {
  switch (rule) {
    case "symlink":
      return "a component of the path is a symbolic link";
    case "name":
      return err.errno === Errno.ENAMETOOLONG
        ? "the path is too long"
        : "the path leaves its directory";
    case "not-regular":
      return "it is not a regular file";
    case "not-directory":
      return "a component of the path is not a directory";
    case "unsupported":
      return "the kernel has no openat2() (Linux 5.6 or later is needed)";
    default:
      return err.message;
  }
}

/** Turns a libc failure into the error of the rule it shows; other errors pass unchanged. */
function confinedError(path: string, verb: string, err: unknown): unknown {
  if (!(err instanceof LibcError)) return err;
  const rule = ruleOf(err);
  return new ConfinedPathError(rule, path, verb, reasonOf(rule, err), { cause: err });
}

/** Closes an fd after a failure: the first error is the one to report. */
function closeQuietly(fd: number): void {
  try {
    close(fd);
  } catch {
    // Nothing was written through it that a failed close() could lose.
  }
}

/**
 * Checks that `name` is a plain relative path: non-empty segments, none `.` or `..`, no NUL.
 * The kernel would refuse a `..` that leaves the root anyway; one that stays inside is refused
 * too, so that the path a config names is the path written.
 */
function checkRelative(root: string, name: string): void {
  if (!name.split("/").every(isFileName)) {
    throw new ConfinedPathError(
      "name",
      `${root}/${name}`,
      "open",
      "it must be a path beneath its directory without empty, . or .. segments",
    );
  }
}

/**
 * Opens the directory `root` as an `O_PATH` handle and checks that it is a directory, not a
 * symbolic link, owned by the process's user, that no group or others may write.
 *
 * The path above `root` is the system's: it is walked following ordinary symbolic links
 * (Debian's `/var/run` is one, to `/run`) but no `/proc` magic link. Only root can change
 * `/var/log` or `/var/run`, and a directory someone else swapped in for `root` fails the owner
 * check. From `root` down, nothing is followed.
 *
 * @param root an absolute, normalised path (`/var/log/ib-sriov`)
 * @param options `create`: create `root` (mode 0700; its parent must exist) when it is missing
 * @returns the directory's fd; the caller closes it with `close()`
 * @throws {ConfinedPathError} rule `name`, `symlink`, `not-directory`, `missing`, `owner`,
 *   `unsupported` or `io`
 */
export function openRoot(root: string, options: { create?: boolean } = {}): number {
  if (!root.startsWith("/") || root === "/" || root.endsWith("/") || root.includes("\0")) {
    throw new ConfinedPathError(
      "name",
      root,
      "open directory",
      "it must be an absolute path below / without a trailing /",
    );
  }
  checkRelative("/", root.slice(1));
  let parentFd: number;
  try {
    parentFd = openat2(AT_FDCWD, dirname(root), {
      flags: DIR_HANDLE,
      mode: 0,
      resolve: RESOLVE_NO_MAGICLINKS,
    });
  } catch (err) {
    throw confinedError(root, "open directory", err);
  }
  let fd: number;
  try {
    fd = openChild(parentFd, root, options.create === true);
  } finally {
    closeQuietly(parentFd);
  }
  try {
    const status = statusAt(fd, "");
    if ((status.mode & S_IFMT) !== S_IFDIR) {
      throw new ConfinedPathError("not-directory", root, "open directory", "it is not a directory");
    }
    const euid = geteuid();
    if (status.uid !== euid || (status.mode & GROUP_OTHER_WRITE) !== 0) {
      throw new ConfinedPathError(
        "owner",
        root,
        "use directory",
        `it must be owned by uid ${euid} and not writable by group or others ` +
          `(it is uid ${status.uid}, mode 0${(status.mode & 0o7777).toString(8)})`,
      );
    }
  } catch (err) {
    closeQuietly(fd);
    throw confinedError(root, "open directory", err);
  }
  return fd;
}

/** Opens the last component of `root` in its parent, creating it first when asked. */
function openChild(parentFd: number, root: string, create: boolean): number {
  const name = basename(root);
  const how = { flags: DIR_HANDLE, mode: 0, resolve: BENEATH };
  try {
    return openat2(parentFd, name, how);
  } catch (err) {
    const missing = err instanceof LibcError && err.errno === Errno.ENOENT;
    if (!missing || !create) throw confinedError(root, "open directory", err);
  }
  try {
    mkdirat(parentFd, name, ROOT_DIR_MODE);
  } catch (err) {
    // Another plugin process may have created it first.
    if (!(err instanceof LibcError && err.errno === Errno.EEXIST)) {
      throw confinedError(root, "create directory", err);
    }
  }
  try {
    return openat2(parentFd, name, how);
  } catch (err) {
    throw confinedError(root, "open directory", err);
  }
}

/** Checks that an open file is a regular file with one name. */
function checkRegular(fd: number, path: string, verb: string): void {
  const status = statusAt(fd, "");
  if ((status.mode & S_IFMT) !== S_IFREG) {
    throw new ConfinedPathError("not-regular", path, verb, "it is not a regular file");
  }
  if (status.nlink > 1) {
    throw new ConfinedPathError(
      "linked",
      path,
      verb,
      `it has ${status.nlink} hard links; it must have one`,
    );
  }
}

/**
 * Opens `name` beneath the directory `root` for appending, creating it with `mode` when it is
 * missing (directories beneath `root` are not created). Neither `root`'s path nor `name` may hold
 * a symbolic link; what is opened must be a regular file with one name. `O_NONBLOCK` keeps a
 * FIFO without reader from blocking the open; a FIFO with one opens and is refused by type.
 *
 * @param root the allowed directory (see {@linkcode openRoot}); `options.create` creates it
 * @param name a relative path beneath it (`ib-sriov.log`)
 * @param mode the permission bits of a new file (before the umask), e.g. `0o600`
 * @param options `create`: create `root` (mode 0700) when it is missing
 * @returns the open fd, positioned for appends; the caller closes it with `close()`
 * @throws {ConfinedPathError} with the rule the path broke
 */
export function openAppendBeneath(
  root: string,
  name: string,
  mode: number,
  options: { create?: boolean } = {},
): number {
  checkRelative(root, name);
  const path = `${root}/${name}`;
  const rootFd = openRoot(root, options);
  let fd: number;
  try {
    fd = openat2(
      rootFd,
      name,
      { flags: APPEND_FLAGS | O_NOFOLLOW, mode, resolve: BENEATH },
      JSON.stringify(path),
    );
  } catch (err) {
    throw confinedError(path, "open", err);
  } finally {
    closeQuietly(rootFd);
  }
  try {
    checkRegular(fd, path, "open");
  } catch (err) {
    closeQuietly(fd);
    throw confinedError(path, "open", err);
  }
  return fd;
}

/**
 * Replaces the file `name` beneath the directory `root` with `text`, so that a reader (or a
 * crash) sees the old file or the new one, never a mix. An existing file is replaced whatever
 * its mode (Multus writes device-info files 0444); an existing name that is not a regular file
 * (a symbolic link, a FIFO, a directory) is refused, not replaced.
 *
 * 1. Open the directory that holds `name` beneath `root`, with no link at any component.
 * 2. Create `<name>.tmp-<pid>` in it with `O_EXCL | O_NOFOLLOW` (a stale one of a crashed
 *    process with our PID is removed first), write `text`, fsync it.
 * 3. Rename it over `name` within that directory (atomic), then fsync the directory.
 *
 * @param root the allowed directory (see {@linkcode openRoot})
 * @param name a relative path beneath it
 * @param text the new contents, written as UTF-8
 * @param mode the permission bits of the new file (before the umask), e.g. `0o600`
 * @throws {ConfinedPathError} with the rule the path broke; the temp file is removed
 */
export function writeFileBeneath(root: string, name: string, text: string, mode: number): void {
  checkRelative(root, name);
  const path = `${root}/${name}`;
  const slash = name.lastIndexOf("/");
  const dir = slash < 0 ? "." : name.slice(0, slash);
  const base = name.slice(slash + 1);
  const tmp = `${base}.tmp-${Deno.pid}`;
  const rootFd = openRoot(root);
  let dirFd: number;
  try {
    dirFd = openat2(rootFd, dir, {
      flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC,
      mode: 0,
      resolve: BENEATH,
    });
  } catch (err) {
    throw confinedError(path, "write", err);
  } finally {
    closeQuietly(rootFd);
  }
  try {
    checkReplaceable(dirFd, base, path);
    removeName(dirFd, tmp);
    const fd = openat2(dirFd, tmp, { flags: CREATE_NEW_FLAGS, mode, resolve: BENEATH });
    let written = false;
    try {
      writeAll(fd, encoder.encode(text), `${path}.tmp-${Deno.pid}`);
      fsync(fd, `${path}.tmp-${Deno.pid}`);
      written = true;
      close(fd);
    } finally {
      if (!written) closeQuietly(fd);
    }
    renameat(dirFd, tmp, base);
    fsync(dirFd, dirname(path));
  } catch (err) {
    try {
      removeName(dirFd, tmp);
    } catch {
      // The first error is the one to report; a stale temp file is removed by the next write.
    }
    throw confinedError(path, "write", err);
  } finally {
    closeQuietly(dirFd);
  }
}

/**
 * Reads the file `name` beneath the directory `root`. Neither `root`'s path nor `name` may hold
 * a symbolic link; what is opened must be a regular file with one name (`O_NONBLOCK`: a FIFO
 * opens at once and is refused by type).
 *
 * @param root the allowed directory (see {@linkcode openRoot})
 * @param name a relative path beneath it
 * @param maxBytes the most bytes the file may hold
 * @returns its bytes, or `null` when it or `root` does not exist
 * @throws {ConfinedPathError} with the rule the path broke; `io` (EFBIG) for a longer file
 */
export function readFileBeneath(root: string, name: string, maxBytes: number): Uint8Array | null {
  checkRelative(root, name);
  const path = `${root}/${name}`;
  let rootFd: number;
  try {
    rootFd = openRoot(root);
  } catch (err) {
    if (err instanceof ConfinedPathError && err.rule === "missing") return null;
    throw err;
  }
  let fd: number;
  try {
    fd = openat2(rootFd, name, {
      flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
      mode: 0,
      resolve: BENEATH,
    });
  } catch (err) {
    if (err instanceof LibcError && err.errno === Errno.ENOENT) return null;
    throw confinedError(path, "read", err);
  } finally {
    closeQuietly(rootFd);
  }
  try {
    checkRegular(fd, path, "read");
    return readAll(fd, maxBytes, path);
  } catch (err) {
    throw confinedError(path, "read", err);
  } finally {
    closeQuietly(fd);
  }
}

/**
 * Removes the name `name` beneath the directory `root` (a link is removed, never followed; a
 * directory is refused); a name that is already gone is no error.
 *
 * @param root the allowed directory (see {@linkcode openRoot})
 * @param name a relative path beneath it, in `root` itself
 * @throws {ConfinedPathError} with the rule the path broke
 */
export function removeFileBeneath(root: string, name: string): void {
  checkRelative(root, name);
  let rootFd: number;
  try {
    rootFd = openRoot(root);
  } catch (err) {
    if (err instanceof ConfinedPathError && err.rule === "missing") return;
    throw err;
  }
  try {
    removeName(rootFd, name);
  } catch (err) {
    throw confinedError(`${root}/${name}`, "remove", err);
  } finally {
    closeQuietly(rootFd);
  }
}

/** Refuses to replace a name that exists and is not a regular file. */
function checkReplaceable(dirFd: number, base: string, path: string): void {
  let mode: number;
  try {
    mode = statusAt(dirFd, base).mode;
  } catch (err) {
    if (err instanceof LibcError && err.errno === Errno.ENOENT) return;
    throw err;
  }
  if ((mode & S_IFMT) !== S_IFREG) {
    throw new ConfinedPathError("not-regular", path, "write", "it is not a regular file");
  }
}

/** Removes `name` from a directory; a name that is already gone is no error. */
function removeName(dirFd: number, name: string): void {
  try {
    unlinkat(dirFd, name, 0);
  } catch (err) {
    if (!(err instanceof LibcError && err.errno === Errno.ENOENT)) throw err;
  }
}

/**
 * Checks a directory the plugin keeps its own state in: no symbolic link at any component of
 * its path, a directory, owned by the process's user and not writable by group or others.
 *
 * @param dir an absolute, normalised path
 * @throws {ConfinedPathError} with the rule the directory broke
 */
export function checkOwnDirectory(dir: string): void {
  close(openRoot(dir));
}
