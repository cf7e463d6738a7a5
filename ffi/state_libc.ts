/**
 * The state store's libc binding (`lib/state/` only): the files it writes beneath a directory it
 * trusts (the `logFile` a network config names, the NPWG device-info file, the state
 * directories' own checks). `openat2()` walks a path beneath a directory fd without following
 * any symbolic link, which `open()` cannot. The binary's `--allow-write` covers only the state
 * directories, so these files are reached through libc.
 *
 * The trailing `path` and `subject` arguments that some wrappers take are not read: errors are
 * `strerror()`'s text, and the caller names the file.
 *
 * @module
 */

import * as libc from "./_libc.ts";
import { toCString } from "./c_string.ts";

export { AT_FDCWD, O_CLOEXEC, O_NONBLOCK, O_RDONLY } from "./_libc.ts";

const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_APPEND = 0o2000;
/** Fail with `ELOOP` when the last component is a symbolic link. */
export const O_NOFOLLOW = 0o400000;
/** Fail with `ENOTDIR` unless the path is a directory. */
export const O_DIRECTORY = 0o200000;
/** A handle to the path itself, for `*at()` calls; nothing is read or written. */
export const O_PATH = 0o10000000;
/**
 * The flags of a file opened for appending, created when missing: every `write()` lands at the
 * end of the file, so processes that append whole lines in one `write()` each never mix their
 * lines (on a local filesystem; NFS does not honour `O_APPEND` across clients), and a FIFO
 * without reader fails `ENXIO` instead of blocking.
 */
export const APPEND_FLAGS = libc.O_WRONLY | O_APPEND | O_CREAT | libc.O_CLOEXEC | libc.O_NOCTTY |
  libc.O_NONBLOCK;
/** The flags of a new file that no other name may already hold: a temp file. */
export const CREATE_NEW_FLAGS = libc.O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | libc.O_CLOEXEC |
  libc.O_NOCTTY;
/** `openat2()` resolve flags: no `..`, absolute path or link may leave `dirfd`; no link at all. */
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_NO_SYMLINKS = 0x04;
/** No `/proc/<pid>/fd/<n>`-style magic link either. */
export const RESOLVE_NO_MAGICLINKS = 0x02;
/** `st_mode`'s file type bits, and the types of a regular file and a directory. */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
/** The syscall number of `openat2` on x86_64 and on aarch64 (asm-generic). */
const SYS_OPENAT2 = 437n;
/** `struct open_how` is three `u64`: flags, mode, resolve. */
const OPEN_HOW_SIZE = 24n;
const AT_EMPTY_PATH = 0x1000;
/** `statx()` mask: type, mode, nlink, uid and ino (`STATX_BASIC_STATS` minus what we skip). */
const STATX_WANTED = 0x1 | 0x2 | 0x4 | 0x8 | 0x100;
/** `struct statx` is 256 bytes, the same on every architecture. */
const STATX_SIZE = 256;

/** The calls the confined writers need. */
export const STATE_LIBC_SYMBOLS = {
  read: libc.SHARED_SYMBOLS.read,
  write: libc.SHARED_SYMBOLS.write,
  close: libc.SHARED_SYMBOLS.close,
  fstat: libc.SHARED_SYMBOLS.fstat,
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
} as const satisfies Deno.ForeignLibraryInterface;

/** Loads libc with {@linkcode STATE_LIBC_SYMBOLS} once; later calls return the same object. */
export const openStateLibc = libc.libcLoader(STATE_LIBC_SYMBOLS);

export const readAll = (fd: number, maxBytes: number, _path?: string): Uint8Array =>
  libc.readAll(openStateLibc(), fd, maxBytes);
export const writeAll = (fd: number, bytes: Uint8Array, _path?: string): void =>
  libc.writeAll(openStateLibc(), fd, bytes);
export const close = (fd: number): void => libc.close(openStateLibc(), fd);
export const fileIdentity = (fd: number): libc.FileIdentity =>
  libc.fileIdentity(openStateLibc(), fd);
export const geteuid = (): number => openStateLibc().geteuid();

/** Runs a call that returns -1 on failure, and throws its errno as `op`'s error. */
function check(op: string, rc: number): void {
  if (rc < 0) throw libc.lastError(openStateLibc(), op);
}

/**
 * Opens `path` relative to `dirfd` with `openat2(2)`, whose `resolve` flags restrict how the
 * path may be walked (e.g. {@linkcode RESOLVE_BENEATH} | {@linkcode RESOLVE_NO_SYMLINKS}): the
 * kernel checks every component as it walks, so no other process can swap a component for a
 * link between a check and the open. Linux 5.6 or later.
 *
 * @param how `flags` (`open()` flags), `mode` (of a new file), `resolve` (`RESOLVE_*`).
 * @throws {LibcError} "ELOOP" for a symbolic link, "EXDEV" for a path that leaves `dirfd`,
 *   "ENXIO" for a FIFO without reader, "ENOSYS" on a kernel before 5.6.
 */
export function openat2(
  dirfd: number,
  path: string,
  how: { flags: number; mode: number; resolve: number },
  _subject?: string,
): number {
  const openHow = new BigUint64Array([BigInt(how.flags), BigInt(how.mode), BigInt(how.resolve)]);
  const fd = Number(
    openStateLibc().openat2(SYS_OPENAT2, BigInt(dirfd), toCString(path), openHow, OPEN_HOW_SIZE),
  );
  check("openat2", fd);
  return fd;
}

/** What `statx()` tells of a file: its type and mode, owner, link count and identity. */
export interface FileStatus {
  /** `stx_mode`: type ({@linkcode S_IFMT}) and permission bits. */
  mode: number;
  uid: number;
  /** A regular file with more than one link is reachable under another name. */
  nlink: number;
  ino: bigint;
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
    ino: view.getBigUint64(32, true),
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

/** Removes `name` from the directory `dirfd` (a link, never followed); `AT_REMOVEDIR` is 0x200. */
export function unlinkat(dirfd: number, name: string, flags: number): void {
  check("unlink", openStateLibc().unlinkat(dirfd, toCString(name), flags));
}

/** Flushes a file's data, or a directory's entries (not through an `O_PATH` handle: EBADF). */
export function fsync(fd: number, _path?: string): void {
  check("fsync", openStateLibc().fsync(fd));
}
