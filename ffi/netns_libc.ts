/**
 * The netns libc binding (`lib/netlink/` only): it opens namespace handles read-only, checks and
 * compares them, probes netns paths, and switches the thread with `setns()`. Its symbol table
 * has no `write`. Each function is the `ffi/libc.ts` wrapper of the same name on this binding's
 * symbols.
 *
 * @module
 */

import * as libc from "./libc.ts";

export { CLONE_NEWNET, NSFS_MAGIC, O_CLOEXEC, O_NOCTTY, O_NONBLOCK, O_RDONLY } from "./libc.ts";

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
export const openNetnsLibc = libc.libcLoader(NETNS_LIBC_SYMBOLS);

/** {@linkcode libc.openReadOnly}: flags that write are refused. */
export const open = (path: string, flags: number): number =>
  libc.openReadOnly(openNetnsLibc(), path, flags);
/** {@linkcode libc.close}. */
export const close = (fd: number): void => libc.close(openNetnsLibc(), fd);
/** {@linkcode libc.setns}. */
export const setns = (fd: number, nstype: number): void => libc.setns(openNetnsLibc(), fd, nstype);
/** {@linkcode libc.fstatfsType}. */
export const fstatfsType = (fd: number): bigint => libc.fstatfsType(openNetnsLibc(), fd);
/** {@linkcode libc.fileIdentity}. */
export const fileIdentity = (fd: number): libc.FileIdentity =>
  libc.fileIdentity(openNetnsLibc(), fd);
/** {@linkcode libc.lstatExists}. */
export const lstatExists = (path: string): boolean => libc.lstatExists(openNetnsLibc(), path);
