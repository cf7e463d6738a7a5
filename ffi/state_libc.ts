/**
 * The state store's libc binding (`lib/state/` only): every file the plugin keeps or is told to
 * write (records, allocations, locks, the `logFile`, the device-info file) is reached beneath a
 * directory fd. `openat2()` walks a path beneath it without following any symbolic link, which
 * `open()` cannot; the plugin has no Deno file grant at all (tools/permissions.ts).
 *
 * @module
 */

import * as libc from "./_libc.ts";
import { toCString } from "./c_string.ts";
import { Errno } from "./errno.ts";

export { AT_FDCWD, type DirEntry } from "./_libc.ts";

const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_APPEND = 0o2000;
/** Fail with `ELOOP` when the last component is a symbolic link. */
const O_NOFOLLOW = 0o400000;
const O_DIRECTORY = 0o200000;
/** A handle to the path itself, for `*at()` calls; nothing is read or written. */
const O_PATH = 0o10000000;
const { O_CLOEXEC, O_NOCTTY, O_NONBLOCK, O_RDONLY, O_WRONLY } = libc;
/**
 * A directory handle. No `O_NOFOLLOW`: it would open a final link itself (then fail `ENOTDIR`)
 * instead of letting `RESOLVE_NO_SYMLINKS` refuse it (`ELOOP`).
 */
export const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
/** The parent of a directory handle, walked only to open it. */
export const PARENT_FLAGS = O_PATH | O_DIRECTORY | O_CLOEXEC;
/** `O_NONBLOCK`: a FIFO opens at once (and is refused by type) rather than hang the open. */
export const READ_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
/**
 * A file opened for appending, created when missing: every `write()` lands at the end of the
 * file, so processes that append whole lines in one `write()` each never mix their lines (on a
 * local filesystem; NFS does not honour `O_APPEND` across clients), and a FIFO without reader
 * fails `ENXIO` instead of blocking.
 */
export const APPEND_FLAGS = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
  O_NONBLOCK;
/** A new file that no other name may already hold: a temp file. */
export const CREATE_NEW_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
/** A lock file, created when missing, as the Go plugin opens its `cni.lock`. */
export const LOCK_FLAGS = O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
/** `openat2()` resolve flags: no `..`, absolute path or link may leave `dirfd`; no link at all. */
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_NO_SYMLINKS = 0x04;
/** No `/proc/<pid>/fd/<n>`-style magic link either. */
export const RESOLVE_NO_MAGICLINKS = 0x02;
/** `st_mode`'s file type bits, and the types of a regular file and a directory. */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
/** `d_type` of a regular file, and of a file system that does not say. */
export const DT_REG = 8;
export const DT_UNKNOWN = 0;
/** The syscall number of `openat2` on x86_64 and on aarch64 (asm-generic). */
const SYS_OPENAT2 = 437n;
/** `struct open_how` is three `u64`: flags, mode, resolve. */
const OPEN_HOW_SIZE = 24n;
const AT_EMPTY_PATH = 0x1000;
/** `statx()` mask: type, mode, nlink, uid and ino (`STATX_BASIC_STATS` minus what we skip). */
const STATX_WANTED = 0x1 | 0x2 | 0x4 | 0x8 | 0x100;
/** `struct statx` is 256 bytes, the same on every architecture. */
const STATX_SIZE = 256;
const LOCK_EX = 2;
const LOCK_NB = 4;

/** The calls the confined directory handle needs. */
export const STATE_LIBC_SYMBOLS = {
  read: libc.SHARED_SYMBOLS.read,
  write: libc.SHARED_SYMBOLS.write,
  close: libc.SHARED_SYMBOLS.close,
  readdir: libc.SHARED_SYMBOLS.readdir,
  closedir: libc.SHARED_SYMBOLS.closedir,
  /**
   * `openat2(2)` through `syscall(2)`: glibc 2.36 (Debian 12) has no wrapper. `syscall` is
   * variadic; on x86_64 and aarch64 its integer and pointer arguments travel in the same
   * registers as a fixed call's, and openat2 is syscall 437 on both.
   */
  openat2: {
    name: "syscall",
    parameters: [
      "i64", // long number (SYS_openat2)
      "i64", // int dirfd
      "buffer", // const char *pathname
      "buffer", // struct open_how *how
      "usize", // size_t size
    ],
    result: "i64",
  },
  // <unistd.h>
  fsync: {
    parameters: [
      "i32", // int fd
    ],
    result: "i32",
  },
  unlinkat: {
    parameters: [
      "i32", // int dirfd
      "buffer", // const char *pathname
      "i32", // int flags
    ],
    result: "i32",
  },
  geteuid: {
    parameters: [],
    result: "u32",
  },
  // <stdio.h>
  renameat: {
    parameters: [
      "i32", // int olddirfd
      "buffer", // const char *oldpath
      "i32", // int newdirfd
      "buffer", // const char *newpath
    ],
    result: "i32",
  },
  // <sys/stat.h>
  mkdirat: {
    parameters: [
      "i32", // int dirfd
      "buffer", // const char *pathname
      "u32", // mode_t mode
    ],
    result: "i32",
  },
  statx: {
    parameters: [
      "i32", // int dirfd
      "buffer", // const char *pathname
      "i32", // int flags
      "u32", // unsigned int mask
      "buffer", // struct statx *statxbuf
    ],
    result: "i32",
  },
  // <sys/file.h>
  flock: {
    parameters: [
      "i32", // int fd
      "i32", // int operation
    ],
    result: "i32",
  },
  // <dirent.h>
  fdopendir: {
    parameters: [
      "i32", // int fd
    ],
    result: "pointer",
  },
} as const satisfies Deno.ForeignLibraryInterface;

export const openStateLibc = libc.libcLoader(STATE_LIBC_SYMBOLS);

export const readAll = (fd: number, maxBytes: number): Uint8Array =>
  libc.readAll(openStateLibc(), fd, maxBytes);
export const writeAll = (fd: number, bytes: Uint8Array): void =>
  libc.writeAll(openStateLibc(), fd, bytes);
export const close = (fd: number): void => libc.close(openStateLibc(), fd);
export const geteuid = (): number => openStateLibc().geteuid();

function check(op: string, rc: number): void {
  if (rc < 0) throw libc.lastError(openStateLibc(), op);
}

/**
 * Opens `path` relative to `dirfd` with `openat2(2)` (Linux 5.6 or later): the kernel checks its
 * `resolve` flags at every component as it walks, so nothing can swap one between check and open.
 *
 * @throws {LibcError} "ELOOP" for a symbolic link, "EXDEV" for a path that leaves `dirfd`,
 *   "ENXIO" for a FIFO without reader, "ENOSYS" on a kernel before 5.6.
 */
export function openat2(
  dirfd: number,
  path: string,
  flags: number,
  resolve: number,
  mode = 0,
): number {
  const openHow = new BigUint64Array([BigInt(flags), BigInt(mode), BigInt(resolve)]);
  const fd = Number(
    openStateLibc().openat2(SYS_OPENAT2, BigInt(dirfd), toCString(path), openHow, OPEN_HOW_SIZE),
  );
  check("openat2", fd);
  return fd;
}

export interface FileStatus {
  /** `stx_mode`: type ({@linkcode S_IFMT}) and permission bits. */
  mode: number;
  uid: number;
  /** A regular file with more than one link is reachable under another name. */
  nlink: number;
  /** The file's identity: its device and inode number. */
  id: string;
}

/**
 * The status of `name` in `dirfd` without following a final symbolic link, or of `dirfd` itself
 * when `name` is empty. `struct statx` has one layout on every architecture, unlike `struct stat`.
 */
export function statusAt(dirfd: number, name: string): FileStatus {
  const buffer = new Uint8Array(STATX_SIZE);
  const flags = libc.AT_SYMLINK_NOFOLLOW | (name === "" ? AT_EMPTY_PATH : 0);
  check("statx", openStateLibc().statx(dirfd, toCString(name), flags, STATX_WANTED, buffer));
  const view = new DataView(buffer.buffer);
  return {
    nlink: view.getUint32(16, true),
    uid: view.getUint32(20, true),
    mode: view.getUint16(28, true),
    id: `${view.getUint32(136, true)}:${view.getUint32(140, true)}:${view.getBigUint64(32, true)}`,
  };
}

export function mkdirat(dirfd: number, name: string, mode: number): void {
  check("mkdirat", openStateLibc().mkdirat(dirfd, toCString(name), mode));
}

/**
 * Renames `from` to `to`, both names in the directory `dirfd`; an existing `to` is replaced
 * atomically, whatever its mode (a symbolic link at `to` is replaced, not followed).
 */
export function renameat(dirfd: number, from: string, to: string): void {
  check("rename", openStateLibc().renameat(dirfd, toCString(from), dirfd, toCString(to)));
}

/** Removes the name `name` from the directory `dirfd` (a link, never followed). */
export function unlinkat(dirfd: number, name: string): void {
  check("unlink", openStateLibc().unlinkat(dirfd, toCString(name), 0));
}

export function fsync(fd: number): void {
  check("fsync", openStateLibc().fsync(fd));
}

/**
 * Tries to take the exclusive `flock(2)` of an open file without waiting (`false` when another
 * open file description holds it): released when every fd of its open file description is
 * closed, so by the kernel when the process dies.
 */
export function tryLock(fd: number): boolean {
  if (openStateLibc().flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
  const error = libc.lastError(openStateLibc(), "flock");
  if (error.errno === Errno.EAGAIN) return false;
  throw error;
}

/** Lists the directory `fd` (which it takes over and closes), without `.` and `..`. */
export function readDirFd(fd: number): libc.DirEntry[] {
  const sym = openStateLibc();
  const dir = sym.fdopendir(fd);
  if (dir === null) {
    const error = libc.lastError(sym, "fdopendir");
    sym.close(fd);
    throw error;
  }
  return libc.readEntries(sym, dir);
}
