/**
 * The sysfs reader's libc binding (`lib/sysfs/` only): it reads files, links and directories,
 * and its symbol table has no `write`, so nothing that reads the node through it can change the
 * node. The operator tool's reads of the configs it is given go through it too.
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
export const openSysfsLibc: () => libc.Libc<libc.LibcCall & keyof typeof SYSFS_LIBC_SYMBOLS> = libc
  .libcLoader(SYSFS_LIBC_SYMBOLS);

/**
 * Reads a whole file, as {@linkcode libc.readFile} does.
 *
 * @param path The file.
 * @param maxBytes The most bytes the file may hold (64 KiB, enough for any sysfs attribute).
 * @returns The file's bytes.
 * @throws {LibcError} When `open()` or `read()` fails, or "EFBIG" past `maxBytes`.
 */
export function readFile(path: string, maxBytes = 64 * 1024): Uint8Array {
  return libc.readFile(openSysfsLibc(), path, maxBytes);
}

const decoder = new TextDecoder();

/**
 * Reads a whole file as UTF-8 text, with {@linkcode readFile}'s limit.
 *
 * @param path The file.
 * @returns The file's text, untrimmed.
 * @throws {LibcError} As {@linkcode readFile}.
 */
export function readText(path: string): string {
  return decoder.decode(readFile(path));
}

/**
 * Reads the target of a symbolic link, as {@linkcode libc.readlink} does.
 *
 * @param path The link.
 * @returns The target, as stored in the link.
 * @throws {LibcError} When `readlink()` fails.
 */
export function readlink(path: string): string {
  return libc.readlink(openSysfsLibc(), path);
}

/**
 * Lists a directory without `.` and `..`, as {@linkcode libc.readDir} does.
 *
 * @param path The directory.
 * @returns The entry names.
 * @throws {LibcError} When `opendir()` or `readdir()` fails.
 */
export function readDir(path: string): string[] {
  return libc.readDir(openSysfsLibc(), path);
}

/**
 * Whether a path exists, without following a final link, as {@linkcode libc.lstatExists} does.
 *
 * @param path The path.
 * @returns `false` for ENOENT and ENOTDIR.
 * @throws {LibcError} For any other failure.
 */
export function lstatExists(path: string): boolean {
  return libc.lstatExists(openSysfsLibc(), path);
}
