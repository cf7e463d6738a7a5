/**
 * The state store's libc binding (`lib/state/` only), for the `logFile` a network config names:
 * the binary's `--allow-write` covers only the state directories, and `logFile` may be any
 * absolute path. Appending, and telling the file from stdout, is all it does.
 *
 * @module
 */

import * as libc from "./libc.ts";

export type { FileIdentity } from "./libc.ts";

/** The calls the log file writer needs. */
export const STATE_LIBC_SYMBOLS = libc.libcTable("open", "write", "close", "fstat");

/** Loads libc with {@linkcode STATE_LIBC_SYMBOLS} once; later calls return the same object. */
export const openStateLibc: () => libc.Libc<libc.LibcCall & keyof typeof STATE_LIBC_SYMBOLS> = libc
  .libcLoader(STATE_LIBC_SYMBOLS);

/**
 * Opens a file for appending, creating it when missing, as {@linkcode libc.openAppend} does.
 *
 * @param path The file.
 * @param mode The permission bits of a new file, e.g. `0o600`.
 * @returns The new file descriptor; the caller closes it with {@linkcode close}.
 * @throws {LibcError} When `open()` fails.
 */
export function openAppend(path: string, mode: number): number {
  return libc.openAppend(openStateLibc(), path, mode);
}

/**
 * Writes all of `bytes` to an open descriptor, as {@linkcode libc.writeAll} does.
 *
 * @param fd The descriptor, from {@linkcode openAppend}.
 * @param bytes The bytes.
 * @throws {LibcError} When `write()` fails, naming the fd.
 */
export function writeAll(fd: number, bytes: Uint8Array): void {
  libc.writeAll(openStateLibc(), fd, bytes);
}

/**
 * Closes a file descriptor.
 *
 * @param fd The descriptor.
 * @throws {LibcError} When `close()` fails.
 */
export function close(fd: number): void {
  libc.close(openStateLibc(), fd);
}

/**
 * The device and inode of an open file, as {@linkcode libc.fileIdentity} returns them.
 *
 * @param fd The open file.
 * @returns Its identity.
 * @throws {LibcError} When `fstat()` fails.
 */
export function fileIdentity(fd: number): libc.FileIdentity {
  return libc.fileIdentity(openStateLibc(), fd);
}
