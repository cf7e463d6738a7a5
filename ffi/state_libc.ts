/**
 * The state store's libc binding (`lib/state/` only), for the `logFile` a network config names:
 * the binary's `--allow-write` covers only the state directories, and `logFile` may be any
 * absolute path. Appending, and telling the file from stdout, is all it does. Each function is
 * the `ffi/libc.ts` wrapper of the same name on this binding's symbols.
 *
 * @module
 */

import * as libc from "./libc.ts";

/** The calls the log file writer needs. */
export const STATE_LIBC_SYMBOLS = libc.libcTable("open", "write", "close", "fstat");

/** Loads libc with {@linkcode STATE_LIBC_SYMBOLS} once; later calls return the same object. */
export const openStateLibc = libc.libcLoader(STATE_LIBC_SYMBOLS);

/** {@linkcode libc.openAppend}. */
export const openAppend = (path: string, mode: number): number =>
  libc.openAppend(openStateLibc(), path, mode);
/** {@linkcode libc.writeAll}; an error names the fd. */
export const writeAll = (fd: number, bytes: Uint8Array): void =>
  libc.writeAll(openStateLibc(), fd, bytes);
/** {@linkcode libc.close}. */
export const close = (fd: number): void => libc.close(openStateLibc(), fd);
/** {@linkcode libc.fileIdentity}. */
export const fileIdentity = (fd: number): libc.FileIdentity =>
  libc.fileIdentity(openStateLibc(), fd);
