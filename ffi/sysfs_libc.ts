/**
 * The sysfs reader's libc binding (`lib/sysfs/` only): it reads files, links and directories,
 * and its symbol table has no `write`, so nothing that reads the node through it can change the
 * node. The operator tool's reads of the configs it is given go through it too. Each function is
 * the `ffi/libc.ts` wrapper of the same name on this binding's symbols.
 *
 * @module
 */

import * as libc from "./libc.ts";

/** The calls the sysfs reader's job needs: open, read, list and test paths. */
export const SYSFS_LIBC_SYMBOLS = libc.libcTable(
  "open",
  "read",
  "readlink",
  "close",
  "opendir",
  "readdir",
  "closedir",
  "faccessat",
);

/** Loads libc with {@linkcode SYSFS_LIBC_SYMBOLS} once; later calls return the same object. */
export const openSysfsLibc = libc.libcLoader(SYSFS_LIBC_SYMBOLS);

const decoder = new TextDecoder();

/** {@linkcode libc.readFile}; the default limit of 64 KiB holds any sysfs attribute. */
export const readFile = (path: string, maxBytes = 64 * 1024): Uint8Array =>
  libc.readFile(openSysfsLibc(), path, maxBytes);
/** {@linkcode readFile} decoded as UTF-8, untrimmed. */
export const readText = (path: string): string => decoder.decode(readFile(path));
/** {@linkcode libc.readlink}. */
export const readlink = (path: string): string => libc.readlink(openSysfsLibc(), path);
/** {@linkcode libc.readDir}. */
export const readDir = (path: string): string[] => libc.readDir(openSysfsLibc(), path);
/** {@linkcode libc.lstatExists}. */
export const lstatExists = (path: string): boolean => libc.lstatExists(openSysfsLibc(), path);
