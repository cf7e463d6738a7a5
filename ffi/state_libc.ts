/**
 * The state store's libc binding (`lib/state/` only): the files it writes beneath a directory it
 * trusts (the `logFile` a network config names, the NPWG device-info file, the state
 * directories' own checks). `openat2()` walks a path beneath a directory fd without following
 * any symbolic link, which `open()` cannot. The binary's `--allow-write` covers only the state
 * directories, so these files are reached through libc. Each function is the `ffi/libc.ts`
 * wrapper of the same name on this binding's symbols.
 *
 * @module
 */

import * as libc from "./libc.ts";

/** The calls the confined writers need. */
export const STATE_LIBC_SYMBOLS = libc.libcTable(
  "openat2",
  "read",
  "write",
  "close",
  "fstat",
  "statx",
  "mkdirat",
  "renameat",
  "unlinkat",
  "fsync",
  "geteuid",
);

/** Loads libc with {@linkcode STATE_LIBC_SYMBOLS} once; later calls return the same object. */
export const openStateLibc = libc.libcLoader(STATE_LIBC_SYMBOLS);

/** {@linkcode libc.openat2}. */
export const openat2 = (
  dirfd: number,
  path: string,
  how: { flags: number; mode: number; resolve: number },
  subject?: string,
): number => libc.openat2(openStateLibc(), dirfd, path, how, subject);
/** {@linkcode libc.readAll}. */
export const readAll = (fd: number, maxBytes: number, path: string): Uint8Array =>
  libc.readAll(openStateLibc(), fd, maxBytes, path);
/** {@linkcode libc.writeAll}; an error names the fd, or `path`. */
export const writeAll = (fd: number, bytes: Uint8Array, path?: string): void =>
  libc.writeAll(openStateLibc(), fd, bytes, path);
/** {@linkcode libc.close}. */
export const close = (fd: number): void => libc.close(openStateLibc(), fd);
/** {@linkcode libc.fileIdentity}. */
export const fileIdentity = (fd: number): libc.FileIdentity =>
  libc.fileIdentity(openStateLibc(), fd);
/** {@linkcode libc.statusAt}. */
export const statusAt = (dirfd: number, name: string): libc.FileStatus =>
  libc.statusAt(openStateLibc(), dirfd, name);
/** {@linkcode libc.mkdirat}. */
export const mkdirat = (dirfd: number, name: string, mode: number): void =>
  libc.mkdirat(openStateLibc(), dirfd, name, mode);
/** {@linkcode libc.renameat}. */
export const renameat = (dirfd: number, from: string, to: string): void =>
  libc.renameat(openStateLibc(), dirfd, from, to);
/** {@linkcode libc.unlinkat}. */
export const unlinkat = (dirfd: number, name: string, flags: number): void =>
  libc.unlinkat(openStateLibc(), dirfd, name, flags);
/** {@linkcode libc.fsync}. */
export const fsync = (fd: number, path: string): void => libc.fsync(openStateLibc(), fd, path);
/** {@linkcode libc.geteuid}. */
export const geteuid = (): number => libc.geteuid(openStateLibc());

export {
  APPEND_FLAGS,
  AT_FDCWD,
  CREATE_NEW_FLAGS,
  O_CLOEXEC,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  RESOLVE_BENEATH,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
} from "./libc.ts";
