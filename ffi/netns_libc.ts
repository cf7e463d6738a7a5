/**
 * The netns libc binding (`lib/netlink/` only): it opens namespace handles read-only, checks and
 * compares them, probes netns paths, and switches the thread with `setns()`. Its symbol table
 * has no `write`.
 *
 * @module
 */

import * as libc from "./_libc.ts";

export { O_CLOEXEC, O_NOCTTY, O_NONBLOCK, O_RDONLY } from "./_libc.ts";

/** `setns()` namespace type of a network namespace. */
export const CLONE_NEWNET = 0x40000000;
/** `f_type` that `fstatfs()` reports for an nsfs file, i.e. a namespace handle. */
export const NSFS_MAGIC = 0x6e736673n;
/** `struct statfs` is 120 bytes on x86_64 and aarch64; `f_type` is its first `long`. */
const STATFS_SIZE = 120;

/** The calls a namespace switch and its checks need. */
export const NETNS_LIBC_SYMBOLS = {
  open: libc.SHARED_SYMBOLS.open,
  faccessat: libc.SHARED_SYMBOLS.faccessat,
  close: libc.SHARED_SYMBOLS.close,
  fstat: libc.SHARED_SYMBOLS.fstat,
  // <sys/vfs.h>
  fstatfs: {
    parameters: [
      "i32", // int fd
      "buffer", // struct statfs *buf
    ],
    result: "i32",
  },
  // <sched.h>
  setns: {
    parameters: [
      "i32", // int fd
      "i32", // int nstype
    ],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

export const openNetnsLibc = libc.libcLoader(NETNS_LIBC_SYMBOLS);

export const open = (path: string, flags: number): number =>
  libc.openReadOnly(openNetnsLibc(), path, flags);
export const close = (fd: number): void => libc.close(openNetnsLibc(), fd);
export const fileIdentity = (fd: number): libc.FileIdentity =>
  libc.fileIdentity(openNetnsLibc(), fd);
export const lstatExists = (path: string): boolean => libc.lstatExists(openNetnsLibc(), path);

/**
 * Moves the calling thread, the main JS thread, into the namespace `fd` refers to.
 *
 * @param nstype The expected namespace type, e.g. {@linkcode CLONE_NEWNET}, or 0 for any.
 * @throws {LibcError} When `setns()` fails (`code` "EINVAL" for an fd of another type, "EPERM"
 *   without CAP_SYS_ADMIN).
 */
export function setns(fd: number, nstype: number): void {
  const sym = openNetnsLibc();
  if (sym.setns(fd, nstype) < 0) throw libc.lastError(sym, "setns");
}

/**
 * The filesystem type (`f_type`) of an open file, e.g. to check that an fd is a namespace handle
 * ({@linkcode NSFS_MAGIC}) before `setns()`.
 *
 * @throws {LibcError} When `fstatfs()` fails (`code` "EBADF" for a descriptor that is not open).
 */
export function fstatfsType(fd: number): bigint {
  const sym = openNetnsLibc();
  const buffer = new BigInt64Array(STATFS_SIZE / 8);
  if (sym.fstatfs(fd, buffer) < 0) throw libc.lastError(sym, "fstatfs");
  return buffer[0] ?? 0n;
}
