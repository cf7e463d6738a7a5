/**
 * The netns libc binding (`lib/netlink/` only): it opens namespace handles read-only, checks and
 * compares them, probes netns paths, and switches the thread with `setns()`. Its symbol table
 * has no `write`.
 *
 * @module
 */

import * as libc from "./libc.ts";

export { CLONE_NEWNET, type FileIdentity, NSFS_MAGIC, O_CLOEXEC, O_RDONLY } from "./libc.ts";

/** The calls a namespace switch and its checks need. */
export const NETNS_LIBC_SYMBOLS = libc.libcTable(
  "open",
  "close",
  "setns",
  "fstatfs",
  "fstat",
  "faccessat",
);

/** Loads libc with {@linkcode NETNS_LIBC_SYMBOLS} once; later calls return the same object. */
export const openNetnsLibc: () => libc.Libc<libc.LibcCall & keyof typeof NETNS_LIBC_SYMBOLS> = libc
  .libcLoader(NETNS_LIBC_SYMBOLS);

/**
 * Opens a file read-only, as {@linkcode libc.openReadOnly} does.
 *
 * @param path The file, e.g. `/proc/thread-self/ns/net`.
 * @param flags `open()` flags, e.g. `O_RDONLY | O_CLOEXEC`; flags that write are refused.
 * @returns The new file descriptor; the caller closes it with {@linkcode close}.
 * @throws {LibcError} When `open()` fails.
 */
export function open(path: string, flags: number): number {
  return libc.openReadOnly(openNetnsLibc(), path, flags);
}

/**
 * Closes a file descriptor.
 *
 * @param fd The descriptor.
 * @throws {LibcError} When `close()` fails ("EBADF").
 */
export function close(fd: number): void {
  libc.close(openNetnsLibc(), fd);
}

/**
 * Moves the calling thread into the namespace `fd` refers to, as {@linkcode libc.setns} does.
 *
 * @param fd A namespace file descriptor.
 * @param nstype The expected namespace type, e.g. `CLONE_NEWNET`.
 * @throws {LibcError} When `setns()` fails.
 */
export function setns(fd: number, nstype: number): void {
  libc.setns(openNetnsLibc(), fd, nstype);
}

/**
 * The filesystem type of an open file, as {@linkcode libc.fstatfsType} returns it.
 *
 * @param fd The open file.
 * @returns The `f_type` magic number.
 * @throws {LibcError} When `fstatfs()` fails.
 */
export function fstatfsType(fd: number): bigint {
  return libc.fstatfsType(openNetnsLibc(), fd);
}

/**
 * The device and inode of an open file, as {@linkcode libc.fileIdentity} returns them.
 *
 * @param fd The open file.
 * @returns Its identity.
 * @throws {LibcError} When `fstat()` fails.
 */
export function fileIdentity(fd: number): libc.FileIdentity {
  return libc.fileIdentity(openNetnsLibc(), fd);
}

/**
 * Whether a path exists, without following a final link, as {@linkcode libc.lstatExists} does.
 *
 * @param path The path, e.g. `/proc/<pid>/ns/net`.
 * @returns `false` for ENOENT and ENOTDIR.
 * @throws {LibcError} For any other failure.
 */
export function lstatExists(path: string): boolean {
  return libc.lstatExists(openNetnsLibc(), path);
}
