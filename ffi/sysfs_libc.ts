/**
 * The sysfs reader's libc binding (`lib/sysfs/` only): it reads files, links and directories,
 * and its symbol table has no `write`, so nothing that reads the node through it can change the
 * node. The operator tool's reads of the configs it is given go through it too.
 *
 * @module
 */

import * as libc from "./_libc.ts";
import { toCString } from "./c_string.ts";
import { Errno } from "./errno.ts";

/** The calls the sysfs reader's job needs: open, read, list and test paths. */
export const SYSFS_LIBC_SYMBOLS = {
  open: libc.SHARED_SYMBOLS.open,
  faccessat: libc.SHARED_SYMBOLS.faccessat,
  read: libc.SHARED_SYMBOLS.read,
  close: libc.SHARED_SYMBOLS.close,
  // <unistd.h>
  readlink: {
    parameters: [
      "buffer", // const char *pathname
      "buffer", // char *buf
      "usize", // size_t bufsiz
    ],
    result: "isize",
  },
  // <dirent.h>
  opendir: {
    parameters: [
      "buffer", // const char *name
    ],
    result: "pointer",
  },
  readdir: libc.SHARED_SYMBOLS.readdir,
  closedir: libc.SHARED_SYMBOLS.closedir,
} as const satisfies Deno.ForeignLibraryInterface;

export const openSysfsLibc = libc.libcLoader(SYSFS_LIBC_SYMBOLS);

/** glibc's PATH_MAX: `readlink()` results are never longer. */
const PATH_MAX = 4096;

const decoder = new TextDecoder();

/**
 * Reads a whole file. Meant for the small files of sysfs and procfs, whose size `stat()` does not
 * report, so it reads until end of file.
 *
 * @param maxBytes The most bytes the file may hold; 64 KiB holds any sysfs attribute.
 * @throws {LibcError} When `open()` or `read()` fails, or "EFBIG" past `maxBytes`.
 */
export function readFile(path: string, maxBytes = 64 * 1024): Uint8Array {
  const sym = openSysfsLibc();
  const fd = libc.openReadOnly(sym, path, libc.O_RDONLY | libc.O_CLOEXEC);
  try {
    return libc.readAll(sym, fd, maxBytes);
  } finally {
    // A read-only fd loses no data when close() fails, so its result does not matter here.
    sym.close(fd);
  }
}

/** {@linkcode readFile} decoded as UTF-8, untrimmed. */
export function readText(path: string): string {
  return decoder.decode(readFile(path));
}

/**
 * Reads the target of a symbolic link, as stored in the link (often relative).
 *
 * @throws {LibcError} When `readlink()` fails (`code` "ENOENT" when absent, "EINVAL" when `path`
 *   is no link), or "ENAMETOOLONG" for a target of PATH_MAX bytes or more.
 */
export function readlink(path: string): string {
  const sym = openSysfsLibc();
  const buffer = new Uint8Array(PATH_MAX);
  const n = Number(sym.readlink(toCString(path), buffer, BigInt(buffer.length)));
  if (n < 0) throw libc.lastError(sym, "readlink");
  // readlink() truncates silently; a full buffer may be a truncated target.
  if (n === buffer.length) throw libc.libcError(sym, "readlink", Errno.ENAMETOOLONG);
  return decoder.decode(buffer.subarray(0, n));
}

/**
 * Lists a directory, without `.` and `..`, in the order the kernel returns the entries.
 *
 * @throws {LibcError} When `opendir()` or `readdir()` fails (`code` "ENOENT", "ENOTDIR", ...).
 */
export function readDir(path: string): string[] {
  const sym = openSysfsLibc();
  const dir = sym.opendir(toCString(path));
  if (dir === null) throw libc.lastError(sym, "opendir");
  return libc.readEntries(sym, dir).map((entry) => entry.name);
}

export const lstatExists = (path: string): boolean => libc.lstatExists(openSysfsLibc(), path);
