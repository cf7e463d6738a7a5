/**
 * The one way the plugin reaches its files: records, allocations, locks and their owner files,
 * the `logFile` and the device-info file. Each lies beneath one directory the node admin owns,
 * opened once as a {@linkcode ConfinedDir}; every file is opened relative to its fd with
 * `openat2()`, so the kernel refuses a link or a `..` at any component, with no window between a
 * check and the open (the rules: docs/security.md, "Paths the plugin writes").
 *
 * @module
 */
import { Errno, LibcError } from "../../ffi/errno.ts";
import * as libc from "../../ffi/state_libc.ts";
import { isFileName } from "../path.ts";
import { pathError, type PathRule, StateError } from "./state_error.ts";

/** How every path beneath a directory is walked. */
const BENEATH = libc.RESOLVE_BENEATH | libc.RESOLVE_NO_SYMLINKS | libc.RESOLVE_NO_MAGICLINKS;
/** How the path above it is walked: ordinary links followed (the system's), no magic link. */
const ABOVE = libc.RESOLVE_NO_MAGICLINKS;
/** Permission bits that let a group or others add or replace names in a directory. */
const GROUP_OTHER_WRITE = 0o022;
/** The mode of a directory the plugin creates (the Go plugin created its own 0700 too). */
const DIR_MODE = 0o700;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * How much of an atomic write must survive a power cut. A killed process never loses any of
 * it: the page cache outlives the process, and the rename is atomic either way.
 *
 * - `full`: the new file under its name (fsync of the file, then of its directory).
 * - `contents`: the contents, whenever the name points at them (fsync of the file only): a power
 *   cut may undo the rename and leave the previous file, never an empty one. For a rewrite whose
 *   previous version serves a restart just as well.
 * - `none`: nothing (no fsync): for files on a tmpfs, which a power cut clears anyway.
 */
export type Durability = "full" | "contents" | "none";

/** The rule a failed call shows, by errno, and the reason its message gives (else libc's). */
const ERRNO_RULES = new Map<number, [PathRule, string?]>([
  [Errno.ELOOP, ["symlink", "a component of the path is a symbolic link"]],
  [Errno.EXDEV, ["name", "the path leaves its directory"]],
  [Errno.ENAMETOOLONG, ["name", "the path is too long"]],
  [Errno.ENXIO, ["not-regular", "it is not a regular file"]],
  [Errno.EISDIR, ["not-regular", "it is not a regular file"]],
  [Errno.ENOTDIR, ["not-directory", "a component of the path is not a directory"]],
  [Errno.ENOENT, ["missing"]],
  [Errno.ENOSYS, ["unsupported", "the kernel has no openat2() (Linux 5.6 or later is needed)"]],
]);

/**
 * The one place a failed call becomes a {@linkcode StateError}: a libc failure on `path` as the
 * rule it shows; any other error passes unchanged.
 */
export function failure(path: string, verb: string, err: unknown): unknown {
  if (!(err instanceof LibcError)) return err;
  const [rule, reason] = ERRNO_RULES.get(err.errno) ?? ["io"];
  return pathError(rule, path, verb, reason ?? err.message, err);
}

const isErrno = (err: unknown, errno: number) => err instanceof LibcError && err.errno === errno;

/** Closes an fd after a failure: the first error is the one to report. */
export function closeQuietly(fd: number): void {
  try {
    libc.close(fd);
  } catch {
    // Nothing was written through it that a failed close() could lose.
  }
}

/** `open()`, or `null` when the directory it opens (or one above it) does not exist. */
export function ifExists<T>(open: () => T): T | null {
  try {
    return open();
  } catch (err) {
    if (err instanceof StateError && err.rule === "missing") return null;
    throw err;
  }
}

/**
 * A directory the plugin's files are reached through, open until disposed. Every method names
 * the file by its name in the directory and fails with a {@linkcode StateError} (code `io`) whose
 * `rule` is the rule broken and whose message names the whole path.
 */
export class ConfinedDir implements Disposable {
  #fd: number;

  private constructor(readonly path: string, fd: number) {
    this.#fd = fd;
  }

  /**
   * Opens the directory `path` and checks it. The path above its last component is the system's:
   * it is walked following ordinary symbolic links (Debian's `/var/run` is one, to `/run`) but no
   * `/proc` magic link. Only root can change `/var/log` or `/var/run`, and a directory someone
   * else swapped in fails the owner check. From `path` down, nothing is followed.
   *
   * @param path an absolute, normalised path (`/var/log/ib-sriov`)
   * @param create `dir`: create the directory (0700) when it is missing, its parent must exist;
   *   `parents`: its missing parents too
   * @throws {StateError} rule `name`, `symlink`, `not-directory`, `missing`, `owner`,
   *   `unsupported` or `io`
   */
  static open(path: string, create?: "dir" | "parents"): ConfinedDir {
    const slash = path.lastIndexOf("/");
    if (!path.startsWith("/") || !path.slice(1).split("/").every(isFileName)) {
      throw pathError(
        "name",
        path,
        "open directory",
        "it must be an absolute path below / without a trailing /",
      );
    }
    try {
      const parent = libc.openat2(
        libc.AT_FDCWD,
        path.slice(0, slash) || "/",
        libc.PARENT_FLAGS,
        ABOVE,
      );
      try {
        return ConfinedDir.#child(parent, path.slice(slash + 1), path, create !== undefined);
      } finally {
        closeQuietly(parent);
      }
    } catch (err) {
      if (create !== "parents" || !isErrno(err, Errno.ENOENT)) {
        throw failure(path, "open directory", err);
      }
    }
    for (let i = path.indexOf("/", 1); i > 0; i = path.indexOf("/", i + 1)) {
      makeDir(libc.AT_FDCWD, path.slice(0, i), path);
    }
    return ConfinedDir.open(path, "dir");
  }

  static #child(parent: number, name: string, path: string, create: boolean): ConfinedDir {
    let fd: number;
    try {
      fd = libc.openat2(parent, name, libc.DIR_FLAGS, BENEATH);
    } catch (err) {
      if (!create || !isErrno(err, Errno.ENOENT)) throw failure(path, "open directory", err);
      makeDir(parent, name, path);
      return ConfinedDir.#child(parent, name, path, false);
    }
    const dir = new ConfinedDir(path, fd);
    try {
      const status = libc.statusAt(fd, "");
      const euid = libc.geteuid();
      if (status.uid !== euid || (status.mode & GROUP_OTHER_WRITE) !== 0) {
        throw pathError(
          "owner",
          path,
          "use directory",
          `it must be owned by uid ${euid} and not writable by group or others ` +
            `(it is uid ${status.uid}, mode 0${(status.mode & 0o7777).toString(8)})`,
        );
      }
    } catch (err) {
      dir[Symbol.dispose]();
      throw failure(path, "open directory", err);
    }
    return dir;
  }

  /** Opens the directory `name` in this one with the same checks, creating it (0700) if asked. */
  dir(name: string, create: boolean): ConfinedDir {
    return ConfinedDir.#child(this.#fd, name, this.#path(name, "open directory"), create);
  }

  /**
   * Reads the file `name` (a regular file with one link; a FIFO opens at once and is refused), or
   * `null` when there is none. Past `maxBytes` it throws rule `io` ("File too large").
   */
  read(name: string, maxBytes: number): string | null {
    const fd = ifExists(() => this.#open(name, "read", libc.READ_FLAGS));
    if (fd === null) return null;
    try {
      return decoder.decode(libc.readAll(fd, maxBytes));
    } catch (err) {
      throw failure(`${this.path}/${name}`, "read", err);
    } finally {
      closeQuietly(fd);
    }
  }

  /**
   * Opens `name`, a relative path beneath the directory (directories beneath it are not created),
   * for appending; creates the file with `mode` (before the umask) when it is missing. The caller
   * closes the fd.
   */
  openAppend(name: string, mode: number): number {
    return this.#open(name, "open", libc.APPEND_FLAGS, mode, true);
  }

  /** Opens the lock file `name` for `tryLock()`, creating it 0600; the caller closes the fd. */
  openLock(name: string): number {
    return this.#open(name, "open lock file", libc.LOCK_FLAGS, 0o600);
  }

  /**
   * Replaces the file `name` with `text`, so that a reader (or a crash) sees the old file or the
   * new one, never a mix: a reader must never find half a record on DEL. An existing file is
   * replaced whatever its mode (Multus writes device-info files 0444); an existing name that is
   * not a regular file (a symbolic link, a FIFO, a directory) is refused, not replaced.
   *
   * 1. Create `<name>.tmp-<pid>` with `O_EXCL | O_NOFOLLOW` (the PID keeps two processes from
   *    sharing a temp file; a stale one of a crashed process with our PID is removed first).
   * 2. Write `text`, fsync it (unless `durability` is `none`), so the data is on disk before the
   *    name points at it.
   * 3. Rename it over `name` (atomic within the directory).
   * 4. fsync the directory (when `durability` is `full`), so the rename survives a power cut.
   *
   * @param options `mode` of the new file (before the umask; default 0600), `durability`
   *   (default `full`)
   * @throws {StateError} the rule broken; the temp file is removed
   */
  replace(
    name: string,
    text: string,
    options: { mode?: number; durability?: Durability } = {},
  ): void {
    const path = this.#path(name, "write");
    const tmp = `${name}.tmp-${Deno.pid}`;
    const durability = options.durability ?? "full";
    try {
      const existing = this.#status(name);
      if (existing !== null && (existing.mode & libc.S_IFMT) !== libc.S_IFREG) {
        throw pathError("not-regular", path, "write", "it is not a regular file");
      }
      this.#unlink(tmp);
      const fd = libc.openat2(this.#fd, tmp, libc.CREATE_NEW_FLAGS, BENEATH, options.mode ?? 0o600);
      try {
        libc.writeAll(fd, encoder.encode(text));
        if (durability !== "none") libc.fsync(fd);
      } catch (err) {
        closeQuietly(fd);
        throw err;
      }
      libc.close(fd);
      libc.renameat(this.#fd, tmp, name);
      if (durability === "full") libc.fsync(this.#fd);
    } catch (err) {
      try {
        this.#unlink(tmp);
      } catch {
        // The first error is the one to report; a stale temp file is removed by the next write.
      }
      throw failure(path, "write", err);
    }
  }

  /**
   * Removes the name `name` (a link is removed, never followed; a directory is refused); a name
   * that is already gone is no error.
   */
  remove(name: string): void {
    const path = this.#path(name, "remove");
    try {
      this.#unlink(name);
    } catch (err) {
      throw failure(path, "remove", err);
    }
  }

  /**
   * Removes the temp files {@link replace} left for `name` (`<name>.tmp-<pid>`): a process killed
   * between creating its temp file and renaming it leaves one, which no later write of `name`
   * replaces (the PID differs) and nothing else would remove. Call it only with the lock that
   * serialises the writers of `name` held, so that no live writer's temp file is among them.
   */
  removeTemps(name: string): void {
    const prefix = `${name}.tmp-`;
    for (const file of this.list()) {
      if (file.startsWith(prefix) && /^\d+$/.test(file.slice(prefix.length))) this.remove(file);
    }
  }

  /** The names of the regular files in the directory, in the kernel's order. */
  list(): string[] {
    try {
      return libc.readDirFd(libc.openat2(this.#fd, ".", libc.DIR_FLAGS, BENEATH))
        .filter((e) =>
          e.type === libc.DT_REG ||
          // A file system that gives no type: ask for it.
          (e.type === libc.DT_UNKNOWN &&
            ((this.#status(e.name)?.mode ?? 0) & libc.S_IFMT) === libc.S_IFREG)
        ).map((e) => e.name);
    } catch (err) {
      throw failure(this.path, "list", err);
    }
  }

  /** Closes the directory; idempotent. */
  [Symbol.dispose](): void {
    if (this.#fd >= 0) closeQuietly(this.#fd);
    this.#fd = -1;
  }

  /**
   * The whole path of `name`, once it is one file name (with `nested`, a relative path): the
   * kernel would refuse a `..` that leaves the directory anyway; one that stays inside is refused
   * too, so that the path a config names is the path written.
   */
  #path(name: string, verb: string, nested = false): string {
    const path = `${this.path}/${name}`;
    if (nested ? !name.split("/").every(isFileName) : !isFileName(name)) {
      throw pathError(
        "name",
        path,
        verb,
        nested
          ? "it must be a path beneath its directory without empty, . or .. segments"
          : "it must be one name in its directory",
      );
    }
    return path;
  }

  /** Opens `name` with `flags`, then checks it is a regular file with one link. */
  #open(name: string, verb: string, flags: number, mode = 0, nested = false): number {
    const path = this.#path(name, verb, nested);
    let fd = -1;
    try {
      fd = libc.openat2(this.#fd, name, flags, BENEATH, mode);
      const status = libc.statusAt(fd, "");
      if ((status.mode & libc.S_IFMT) !== libc.S_IFREG) {
        throw pathError("not-regular", path, verb, "it is not a regular file");
      }
      if (status.nlink > 1) {
        throw pathError(
          "linked",
          path,
          verb,
          `it has ${status.nlink} hard links; it must have one`,
        );
      }
      return fd;
    } catch (err) {
      if (fd >= 0) closeQuietly(fd);
      throw failure(path, verb, err);
    }
  }

  /** The status of `name` (a link not followed), or `null` when there is none. */
  #status(name: string): libc.FileStatus | null {
    try {
      return libc.statusAt(this.#fd, name);
    } catch (err) {
      if (isErrno(err, Errno.ENOENT)) return null;
      throw err;
    }
  }

  #unlink(name: string): void {
    try {
      libc.unlinkat(this.#fd, name);
    } catch (err) {
      if (!isErrno(err, Errno.ENOENT)) throw err;
    }
  }
}

/** Creates the directory `name` in `dirfd` (0700); one that exists already is no error. */
function makeDir(dirfd: number, name: string, path: string): void {
  try {
    libc.mkdirat(dirfd, name, DIR_MODE);
  } catch (err) {
    // Another plugin process may have created it first.
    if (!isErrno(err, Errno.EEXIST)) throw failure(path, "create directory", err);
  }
}
