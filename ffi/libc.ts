/**
 * The libc wrappers every libc binding of `ffi/` is made of: a loader that binds one binding's
 * symbols only, and typed wrappers that each take the loaded symbols they need.
 *
 * Deno refuses `/sys` and `/proc` to its own file APIs unless the process runs with
 * `--allow-all`, whatever `--allow-read` grants. Reaching them through libc over FFI lets the
 * plugin keep `--allow-read` and `--allow-write` scoped to its state directories; that is why the
 * sysfs layer and the netns opener read files, and the PCI driver binder writes them, through
 * libc instead of `Deno.readTextFile` and `Deno.writeTextFile`.
 *
 * An unscoped `--allow-ffi` gives native code the whole process's power, so Deno cannot keep the
 * sysfs reader from writing. The bindings do: each of `sysfs_libc.ts`, `netns_libc.ts`,
 * `pci_driver_libc.ts`, `state_libc.ts` and `ipam_libc.ts` binds a symbol table with its own calls
 * only (no `write` for the readers), and only the two writers call the write wrappers here;
 * `tests/unit/boundaries_test.ts` holds them to that. No module outside `ffi/` imports this file.
 *
 * Every wrapper takes and returns plain JS values, and turns a failed call into a
 * {@linkcode LibcError} built from `errno`. The layouts read here (`struct dirent`,
 * `struct statfs`, the start of `struct stat`) are those of glibc on x86_64 and aarch64.
 *
 * @module
 */

import { errorMessage } from "../lib/error_message.ts";
import { readCString, toCString } from "./c_string.ts";
import { Errno, LibcError } from "./errno.ts";
import { LIBC_SYMBOLS } from "./libc_symbols.ts";
import { boundSymbols, lazySymbols } from "./lazy_symbols.ts";

/** `open()` flag: open for reading only. */
export const O_RDONLY = 0;
/** `open()` flag: open for writing only. */
const O_WRONLY = 1;
/** `open()` flag: open for reading and writing. */
const O_RDWR = 2;
/** `open()` flag: close the fd on `exec`, so IPAM plugins we start never inherit it. */
export const O_CLOEXEC = 0o2000000;
/** `open()` flag: create the file when it is missing, with the `mode` argument. */
const O_CREAT = 0o100;
/** `open()` flag: a terminal opened as a file never becomes our controlling terminal. */
export const O_NOCTTY = 0o400;
/** `open()` flag: cut the file to length 0. */
const O_TRUNC = 0o1000;
/** `open()` flag: every `write()` goes to the current end of the file, atomically. */
const O_APPEND = 0o2000;
/**
 * `open()` flag: an `open()` of a FIFO never waits for the other end (for writing, one without
 * a reader fails `ENXIO`; for reading, it opens at once).
 */
export const O_NONBLOCK = 0o4000;
/** `open()` flag: fail with `ELOOP` when the last component is a symbolic link. */
export const O_NOFOLLOW = 0o400000;
/** `open()` flag: fail with `ENOTDIR` unless the path is a directory. */
export const O_DIRECTORY = 0o200000;
/** `open()` flag: a handle to the path itself, for `*at()` calls; nothing is read or written. */
export const O_PATH = 0o10000000;
/** `open()` flag: with `O_CREAT`, fail with `EEXIST` when the name exists (even as a link). */
const O_EXCL = 0o200;
/**
 * The flags of a file opened for appending, created when missing: every `write()` lands at the
 * end of the file, so processes that append whole lines in one `write()` each never mix their
 * lines (on a local filesystem; NFS does not honour `O_APPEND` across clients), and a FIFO
 * without reader fails `ENXIO` instead of blocking.
 */
export const APPEND_FLAGS = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
/** The flags of a new file that no other name may already hold: a temp file. */
export const CREATE_NEW_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
/** `openat2()` resolve flag: no `..`, absolute path or link may take the path out of `dirfd`. */
export const RESOLVE_BENEATH = 0x08;
/** `openat2()` resolve flag: fail with `ELOOP` on any symbolic link, at any component. */
export const RESOLVE_NO_SYMLINKS = 0x04;
/** `openat2()` resolve flag: no `/proc/<pid>/fd/<n>`-style magic link either. */
export const RESOLVE_NO_MAGICLINKS = 0x02;
/** `unlinkat()` flag: remove a directory. */
export const AT_REMOVEDIR = 0x200;
/** The syscall number of `openat2` on x86_64 and on aarch64 (asm-generic). */
const SYS_OPENAT2 = 437n;
/** `struct open_how` is three `u64`: flags, mode, resolve. */
const OPEN_HOW_SIZE = 24n;
const AT_EMPTY_PATH = 0x1000;
/** `statx()` mask: type, mode, nlink, uid and ino (`STATX_BASIC_STATS` minus what we skip). */
const STATX_WANTED = 0x1 | 0x2 | 0x4 | 0x8 | 0x100;
/** `struct statx` is 256 bytes, the same on every architecture. */
const STATX_SIZE = 256;

/** `st_mode`'s file type bits. */
export const S_IFMT = 0o170000;
/** `st_mode` file type: a regular file. */
export const S_IFREG = 0o100000;
/** `st_mode` file type: a directory. */
export const S_IFDIR = 0o040000;

/** The flags that let an `open()` change a file: refused by {@linkcode openReadOnly}. */
const CHANGING_FLAGS = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
/** `setns()` namespace type of a network namespace. */
export const CLONE_NEWNET = 0x40000000;
/** `f_type` that `fstatfs()` reports for an nsfs file, i.e. a namespace handle. */
export const NSFS_MAGIC = 0x6e736673n;

/** `*at()` dirfd meaning "the current directory": a relative path, or an absolute one. */
export const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const F_OK = 0;
/** glibc's PATH_MAX: `readlink()` results are never longer. */
const PATH_MAX = 4096;
/** `struct dirent` on x86_64/aarch64 glibc: d_ino u64, d_off i64, d_reclen u16, d_type u8. */
const DIRENT_RECLEN_OFFSET = 16;
const DIRENT_NAME_OFFSET = 19;
/** `struct statfs` is 120 bytes on x86_64 and aarch64; `f_type` is its first `long`. */
const STATFS_SIZE = 120;
/**
 * `struct stat` is 144 bytes on x86_64 and 128 on aarch64; both start with `st_dev` and `st_ino`
 * (64 bits each), the only fields read here.
 */
const STAT_SIZE = 144;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The symbols every binding loads: a failed call's error is built with them. */
const ERROR_SYMBOLS = ["__errno_location", "strerror"] as const;
type ErrorSymbol = (typeof ERROR_SYMBOLS)[number];

/** The name of a libc call a binding may ask for. */
export type LibcCall = Exclude<keyof typeof LIBC_SYMBOLS, ErrorSymbol>;

/** The symbol table of a binding: its calls and the {@linkcode ERROR_SYMBOLS}. */
export type LibcTable<K extends LibcCall> = Pick<typeof LIBC_SYMBOLS, K | ErrorSymbol>;

/** The loaded symbols of a binding whose table holds the calls `K`. */
export type Libc<K extends LibcCall = never> = Deno.DynamicLibrary<LibcTable<K>>["symbols"];

/**
 * The symbol table of a binding, with only the calls it names (and the error symbols).
 *
 * @param calls The libc calls the binding's job needs, e.g. `"open", "read", "close"`.
 * @returns The table, for {@linkcode libcLoader}.
 */
export function libcTable<K extends LibcCall>(...calls: K[]): LibcTable<K> {
  const table: Record<string, Deno.ForeignFunction | Deno.ForeignStatic> = {};
  for (const name of [...calls, ...ERROR_SYMBOLS]) table[name] = LIBC_SYMBOLS[name];
  return table as LibcTable<K>;
}

/**
 * A loader of one binding's symbols: the first call opens libc, later calls return the same
 * object. Each call of `table` is bound when first made ({@linkcode lazySymbols}), and no symbol
 * outside it ever is. Nothing is loaded at import time, so modules that import a binding work
 * without `--allow-ffi`.
 *
 * @param table The binding's table, from {@linkcode libcTable}.
 * @returns The loader.
 * @throws {Deno.errors.NotCapable} (from the loader) Without `--allow-ffi`, unchanged (as is
 *   `PermissionDenied`).
 * @throws {Error} (from the loader) "Cannot load libc.so.6: ..." when the library cannot be
 *   opened.
 */
export function libcLoader<K extends LibcCall>(table: LibcTable<K>): () => Libc<K> {
  let loaded: Libc<K> | null = null;
  return () => {
    if (loaded === null) {
      const calls: Record<string, Deno.ForeignFunction | Deno.ForeignStatic> = {};
      for (const [name, symbol] of Object.entries(table)) {
        if (!(ERROR_SYMBOLS as readonly string[]).includes(name)) calls[name] = symbol;
      }
      loaded = Object.assign(lazySymbols("libc.so.6", calls, openLibc), errorSymbols()) as Libc<K>;
    }
    return loaded;
  };
}

let boundErrorSymbols: Libc | null = null;

/**
 * The error symbols, bound once for every binding (reading `errno` and its text grants
 * nothing). They are bound before any call: binding one between a failed call and the read of
 * its errno would run dlsym(3), which may change errno. Opening libc here (with no symbol) also
 * makes a missing library or permission fail at a binding's first use.
 */
function errorSymbols(): Libc {
  if (boundErrorSymbols === null) {
    openLibc({});
    boundErrorSymbols = boundSymbols("libc.so.6", libcTable(), openLibc);
  }
  return boundErrorSymbols;
}

/** Opens libc with `symbols`, wrapping every failure but a missing permission. */
function openLibc<T extends Deno.ForeignLibraryInterface>(symbols: T): Deno.DynamicLibrary<T> {
  try {
    return Deno.dlopen("libc.so.6", symbols);
  } catch (error) {
    // Deno 2 reports a missing --allow-ffi as NotCapable; PermissionDenied is the OS's EACCES.
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw error;
    }
    const reason = errorMessage(error);
    throw new Error(`Cannot load libc.so.6: ${reason}`, { cause: error });
  }
}

/** The calling thread's `errno`. Read it right after the failing call, before any other. */
function errnoLocation(libc: Libc): Int32Array {
  const ptr = libc.__errno_location();
  if (ptr === null) throw new Error("__errno_location() returned NULL");
  return new Int32Array(Deno.UnsafePointerView.getArrayBuffer(ptr, 4));
}

/** Builds the error for a failed call; `subject` defaults to the quoted path. */
function libcError(
  libc: Libc,
  errno: number,
  init: { op: string; path?: string; subject?: string },
): LibcError {
  const path = init.path ?? null;
  const subject = init.subject ?? JSON.stringify(path);
  const text = libc.strerror(errno);
  const reason = text === null ? `errno ${errno}` : readCString(text);
  return new LibcError(`Cannot ${init.op} ${subject}: ${reason}`, {
    op: init.op,
    errno,
    path,
    reason,
  });
}

/** Reads `errno` now and builds the error for the call that just failed. */
function lastError(
  libc: Libc,
  init: { op: string; path?: string; subject?: string },
): LibcError {
  const errno = errnoLocation(libc)[0] ?? 0;
  return libcError(libc, errno, init);
}

/**
 * Opens a file for reading, like `open(2)`; flags that could change the file are refused, so a
 * binding without `write` cannot create or truncate a file either.
 *
 * @param libc The binding's symbols.
 * @param path The file.
 * @param flags `open()` flags, e.g. `O_RDONLY | O_CLOEXEC`.
 * @returns The new file descriptor; the caller closes it with {@linkcode close}.
 * @throws {LibcError} When `open()` fails (`code` "ENOENT", "EACCES", ...).
 * @throws {Error} For flags that write, create, truncate or append, before any call.
 */
export function openReadOnly(libc: Libc<"open">, path: string, flags: number): number {
  if ((flags & CHANGING_FLAGS) !== 0) {
    throw new Error(
      `Cannot open ${JSON.stringify(path)}: flags 0o${flags.toString(8)} could change it`,
    );
  }
  const fd = libc.open(toCString(path), flags, 0);
  if (fd < 0) throw lastError(libc, { op: "open", path });
  return fd;
}

/**
 * Closes a file descriptor.
 *
 * @param libc The binding's symbols.
 * @param fd The descriptor.
 * @throws {LibcError} When `close()` fails (`code` "EBADF" for a descriptor that is not open).
 */
export function close(libc: Libc<"close">, fd: number): void {
  if (libc.close(fd) < 0) throw lastError(libc, { op: "close", subject: `fd ${fd}` });
}

/**
 * Moves the calling thread, the main JS thread, into the namespace `fd` refers to.
 *
 * @param libc The binding's symbols.
 * @param fd A namespace file descriptor (`/proc/<pid>/ns/net`, `/var/run/netns/<name>`).
 * @param nstype The expected namespace type, e.g. {@linkcode CLONE_NEWNET}, or 0 for any.
 * @throws {LibcError} When `setns()` fails (`code` "EINVAL" for an fd of another type, "EPERM"
 *   without CAP_SYS_ADMIN).
 */
export function setns(libc: Libc<"setns">, fd: number, nstype: number): void {
  if (libc.setns(fd, nstype) < 0) {
    throw lastError(libc, {
      op: "setns",
      subject: `fd ${fd} (nstype 0x${nstype.toString(16)})`,
    });
  }
}

/**
 * Reads a whole file. Meant for the small files of sysfs and procfs, whose size `stat()` does
 * not report, so it reads until end of file.
 *
 * @param libc The binding's symbols.
 * @param path The file.
 * @param maxBytes The most bytes the file may hold.
 * @returns The file's bytes.
 * @throws {LibcError} When `open()` or `read()` fails, or with `code` "EFBIG" when the file is
 *   longer than `maxBytes`.
 */
export function readFile(
  libc: Libc<"open" | "read" | "close">,
  path: string,
  maxBytes: number,
): Uint8Array {
  const fd = openReadOnly(libc, path, O_RDONLY | O_CLOEXEC);
  try {
    return readAll(libc, fd, maxBytes, path);
  } finally {
    // A read-only fd loses no data when close() fails, so its result does not matter here.
    libc.close(fd);
  }
}

/**
 * Reads an open file from its position to end of file.
 *
 * @param libc The binding's symbols.
 * @param fd The descriptor.
 * @param maxBytes The most bytes the file may hold.
 * @param path Names the file in an error.
 * @returns The bytes read.
 * @throws {LibcError} When `read()` fails, or with `code` "EFBIG" when the file is longer than
 *   `maxBytes`.
 */
export function readAll(
  libc: Libc<"read">,
  fd: number,
  maxBytes: number,
  path: string,
): Uint8Array {
  // One byte more than allowed, so that a file of exactly maxBytes is told from a longer one.
  const buffer = new Uint8Array(maxBytes + 1);
  let length = 0;
  while (length < buffer.length) {
    const n = Number(libc.read(fd, buffer.subarray(length), BigInt(buffer.length - length)));
    if (n < 0) throw lastError(libc, { op: "read", path });
    if (n === 0) break;
    length += n;
  }
  if (length > maxBytes) {
    throw libcError(libc, Errno.EFBIG, { op: "read", path });
  }
  return buffer.slice(0, length);
}

/**
 * Writes all of `bytes`, in one `write()` unless the kernel takes less.
 *
 * @param libc The binding's symbols.
 * @param fd The descriptor, e.g. from {@linkcode openat2}.
 * @param bytes The bytes.
 * @param path Names the file in an error; without it the error names the fd.
 * @throws {LibcError} When `write()` fails (`code` "ENOSPC", "EBADF", ...), or "EIO" when the
 *   kernel takes nothing.
 */
export function writeAll(
  libc: Libc<"write">,
  fd: number,
  bytes: Uint8Array,
  path?: string,
): void {
  const context = path === undefined ? { op: "write", subject: `fd ${fd}` } : { op: "write", path };
  let written = 0;
  while (written < bytes.length) {
    const n = Number(libc.write(fd, bytes.subarray(written), BigInt(bytes.length - written)));
    if (n < 0) throw lastError(libc, context);
    // write() of a non-empty buffer returns 0 only when nothing more will ever be taken.
    if (n === 0) throw libcError(libc, Errno.EIO, context);
    written += n;
  }
}

/**
 * Writes text to an existing file in one `write()` where it can, as `echo -n text > path` does:
 * without creating or truncating the file. Meant for sysfs attributes, whose `store` handler runs
 * inside the `write()` and whose errors (`ENODEV`, `EBUSY`, ...) come back as its errno.
 *
 * @param libc The binding's symbols.
 * @param path The file.
 * @param text The text, written as UTF-8.
 * @throws {LibcError} When `open()`, `write()` or `close()` fails (`code` "ENOENT" when the file
 *   is absent, or the errno of the attribute's handler).
 */
export function writeText(
  libc: Libc<"open" | "write" | "close">,
  path: string,
  text: string,
): void {
  const bytes = encoder.encode(text);
  const fd = libc.open(toCString(path), O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0) throw lastError(libc, { op: "open", path });
  let closed = false;
  try {
    writeAll(libc, fd, bytes, path);
    // A write's error may only surface at close() (NFS, some device files): it counts here.
    closed = true;
    if (libc.close(fd) < 0) throw lastError(libc, { op: "close", path });
  } finally {
    // After a failed write the first error is the one to report; close() only releases the fd.
    if (!closed) libc.close(fd);
  }
}

/**
 * Reads the target of a symbolic link.
 *
 * @param libc The binding's symbols.
 * @param path The link.
 * @returns The target, as stored in the link (often relative).
 * @throws {LibcError} When `readlink()` fails (`code` "ENOENT" when absent, "EINVAL" when `path`
 *   is no link), or "ENAMETOOLONG" for a target of PATH_MAX bytes or more.
 */
export function readlink(libc: Libc<"readlink">, path: string): string {
  const buffer = new Uint8Array(PATH_MAX);
  const n = Number(libc.readlink(toCString(path), buffer, BigInt(buffer.length)));
  if (n < 0) throw lastError(libc, { op: "readlink", path });
  // readlink() truncates silently; a full buffer may be a truncated target.
  if (n === buffer.length) throw libcError(libc, Errno.ENAMETOOLONG, { op: "readlink", path });
  return decoder.decode(buffer.subarray(0, n));
}

/**
 * Lists a directory, without `.` and `..`.
 *
 * @param libc The binding's symbols.
 * @param path The directory.
 * @returns The entry names, in the order the kernel returns them.
 * @throws {LibcError} When `opendir()` or `readdir()` fails (`code` "ENOENT", "ENOTDIR", ...).
 */
export function readDir(libc: Libc<"opendir" | "readdir" | "closedir">, path: string): string[] {
  const dir = libc.opendir(toCString(path));
  if (dir === null) throw lastError(libc, { op: "opendir", path });
  try {
    const errno = errnoLocation(libc);
    const names: string[] = [];
    for (;;) {
      // readdir() returns NULL both at the end and on error; only errno tells them apart.
      errno[0] = 0;
      const entry = libc.readdir(dir);
      if (entry === null) {
        if (errno[0] !== 0) throw lastError(libc, { op: "readdir", path });
        return names;
      }
      const recordLength = new Deno.UnsafePointerView(entry).getUint16(DIRENT_RECLEN_OFFSET);
      const namePtr = Deno.UnsafePointer.offset(entry, DIRENT_NAME_OFFSET);
      if (namePtr === null) throw new Error(`readdir() returned a bad entry in "${path}"`);
      const name = readCString(namePtr, recordLength - DIRENT_NAME_OFFSET);
      if (name !== "." && name !== "..") names.push(name);
    }
  } finally {
    // The DIR was opened read-only; a failed closedir() loses nothing.
    libc.closedir(dir);
  }
}

/**
 * Tells whether a path exists, without following a final symbolic link (a dangling link exists).
 *
 * @param libc The binding's symbols.
 * @param path The path.
 * @returns `true` when it exists; `false` when it or a parent is absent (ENOENT, ENOTDIR).
 * @throws {LibcError} For any other failure, e.g. "EACCES" on a parent that cannot be searched.
 */
export function lstatExists(libc: Libc<"faccessat">, path: string): boolean {
  if (libc.faccessat(AT_FDCWD, toCString(path), F_OK, AT_SYMLINK_NOFOLLOW) === 0) return true;
  const error = lastError(libc, { op: "faccessat", path });
  if (error.errno === Errno.ENOENT || error.errno === Errno.ENOTDIR) return false;
  throw error;
}

/**
 * Returns the filesystem type (`f_type`) of an open file, e.g. to check that an fd is a namespace
 * handle ({@linkcode NSFS_MAGIC}) before `setns()`.
 *
 * @param libc The binding's symbols.
 * @param fd The open file.
 * @returns The `f_type` magic number.
 * @throws {LibcError} When `fstatfs()` fails (`code` "EBADF" for a descriptor that is not open).
 */
export function fstatfsType(libc: Libc<"fstatfs">, fd: number): bigint {
  const buffer = new BigInt64Array(STATFS_SIZE / 8);
  if (libc.fstatfs(fd, buffer) < 0) throw lastError(libc, { op: "fstatfs", subject: `fd ${fd}` });
  return buffer[0] ?? 0n;
}

/** What tells one file from another: the device it lives on and its inode number. */
export interface FileIdentity {
  /** `st_dev`. */
  dev: bigint;
  /** `st_ino`. */
  ino: bigint;
}

/**
 * Returns the identity of an open file, e.g. to tell whether two descriptors (a log file and
 * stdout, or two namespace handles) are the same file whatever the paths they were opened by.
 *
 * @param libc The binding's symbols.
 * @param fd The open file.
 * @returns Its device and inode numbers.
 * @throws {LibcError} When `fstat()` fails (`code` "EBADF" for a descriptor that is not open).
 */
export function fileIdentity(libc: Libc<"fstat">, fd: number): FileIdentity {
  const buffer = new BigUint64Array(STAT_SIZE / 8);
  if (libc.fstat(fd, buffer) < 0) throw lastError(libc, { op: "fstat", subject: `fd ${fd}` });
  return { dev: buffer[0] ?? 0n, ino: buffer[1] ?? 0n };
}

/** `<poll.h>` events. */
const POLLIN = 0x1;
const POLLOUT = 0x4;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLNVAL = 0x20;
/** `<spawn.h>`: reset the signals of `setsigdefault` to their default action; set the mask. */
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const SIGKILL = 9;
const SIGPIPE = 13;
/** glibc's sizes on x86_64 and aarch64, rounded up: the structs are only handed back to glibc. */
const SPAWN_FILE_ACTIONS_SIZE = 128;
const SPAWNATTR_SIZE = 512;
const SIGSET_SIZE = 128;
/** A pipe's atomic write: after `POLLOUT`, a write of this much never blocks. */
const PIPE_BUF = 4096;
const READ_CHUNK = 64 * 1024;

/** The signals a plugin dies of, by number, for messages; others read as `signal <n>`. */
const SIGNAL_NAMES: Readonly<Record<number, string>> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  4: "SIGILL",
  6: "SIGABRT",
  7: "SIGBUS",
  8: "SIGFPE",
  9: "SIGKILL",
  11: "SIGSEGV",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
};

/** How a child ended: its exit code, the signal that ended it, or killed at the timeout. */
export type PipedStatus =
  | { exited: number }
  | { signal: string }
  | "timeout";

/** What {@linkcode runPiped} saw of a child. */
export interface PipedRun {
  status: PipedStatus;
  /** What it printed, at most `maxStdout` bytes of it. */
  stdout: Uint8Array;
}

/** The calls {@linkcode runPiped} makes. */
export type SpawnCall =
  | "posix_spawn"
  | "posix_spawn_file_actions_init"
  | "posix_spawn_file_actions_adddup2"
  | "posix_spawn_file_actions_destroy"
  | "posix_spawnattr_init"
  | "posix_spawnattr_setflags"
  | "posix_spawnattr_setsigdefault"
  | "posix_spawnattr_setsigmask"
  | "posix_spawnattr_destroy"
  | "sigemptyset"
  | "sigaddset"
  | "pipe2"
  | "pidfd_open"
  | "poll"
  | "read"
  | "write"
  | "close"
  | "kill"
  | "waitpid"
  | "environ";

/** A NULL-terminated array of pointers to `strings` as C strings; `keep` holds the strings. */
function cStringArray(strings: readonly string[], keep: Uint8Array[]): BigUint64Array {
  const array = new BigUint64Array(strings.length + 1);
  strings.forEach((s, i) => {
    const bytes = toCString(s);
    keep.push(bytes);
    array[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
  });
  return array;
}

/**
 * This process's environment (libc's `environ`, read as it is, whatever Deno's `--allow-env`
 * grants) with `set` on top: what a child started with `set` inherits.
 */
function inheritedEnvironment(
  libc: Libc<"environ">,
  set: Readonly<Record<string, string>>,
): string[] {
  const entries: string[] = [];
  const environ = libc.environ === null
    ? null
    : new Deno.UnsafePointerView(libc.environ).getPointer(0);
  for (let i = 0; environ !== null; i++) {
    const entry = new Deno.UnsafePointerView(environ).getPointer(i * 8);
    if (entry === null) break;
    const text = readCString(entry);
    const name = text.slice(0, Math.max(0, text.indexOf("=")));
    if (!Object.hasOwn(set, name)) entries.push(text);
  }
  for (const [name, value] of Object.entries(set)) entries.push(`${name}=${value}`);
  return entries;
}

/**
 * Starts `path` with `posix_spawn()`, its stdin and stdout our pipes and its stderr ours, SIGPIPE
 * at its default action and no signal blocked (as a shell would start it); the pipes' other ends
 * and every fd of ours are close-on-exec.
 *
 * @returns the child's pid and our ends of its stdin and stdout
 * @throws {LibcError} when a pipe cannot be made or `posix_spawn()` fails (`code` "ENOENT" when
 *   there is no such file, "EACCES" when it cannot be executed)
 */
function spawnPiped(
  libc: Libc<SpawnCall>,
  path: string,
  argv: readonly string[],
  env: readonly string[],
): { pid: number; stdin: number; stdout: number } {
  const stdinPipe = new Int32Array(2);
  const stdoutPipe = new Int32Array(2);
  if (libc.pipe2(stdinPipe, O_CLOEXEC) < 0) throw lastError(libc, { op: "pipe2", path });
  if (libc.pipe2(stdoutPipe, O_CLOEXEC) < 0) {
    const error = lastError(libc, { op: "pipe2", path });
    libc.close(stdinPipe[0]!);
    libc.close(stdinPipe[1]!);
    throw error;
  }
  const actions = new Uint8Array(SPAWN_FILE_ACTIONS_SIZE);
  const attr = new Uint8Array(SPAWNATTR_SIZE);
  const defaults = new Uint8Array(SIGSET_SIZE);
  const mask = new Uint8Array(SIGSET_SIZE);
  libc.posix_spawn_file_actions_init(actions);
  libc.posix_spawnattr_init(attr);
  try {
    // dup2() clears close-on-exec on the copy: fds 0 and 1 stay open in the child, the pipes'
    // own fds close at its exec.
    libc.posix_spawn_file_actions_adddup2(actions, stdinPipe[0]!, 0);
    libc.posix_spawn_file_actions_adddup2(actions, stdoutPipe[1]!, 1);
    // Deno ignores SIGPIPE, and an ignored signal stays ignored across exec: the child gets the
    // default back, as Deno.Command gives it.
    libc.sigemptyset(defaults);
    libc.sigaddset(defaults, SIGPIPE);
    libc.sigemptyset(mask);
    libc.posix_spawnattr_setsigdefault(attr, defaults);
    libc.posix_spawnattr_setsigmask(attr, mask);
    libc.posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    const keep: Uint8Array[] = [];
    const pid = new Int32Array(1);
    const errno = libc.posix_spawn(
      pid,
      toCString(path),
      actions,
      attr,
      cStringArray(argv, keep),
      cStringArray(env, keep),
    );
    libc.close(stdinPipe[0]!);
    libc.close(stdoutPipe[1]!);
    if (errno !== 0) {
      libc.close(stdinPipe[1]!);
      libc.close(stdoutPipe[0]!);
      throw libcError(libc, errno, { op: "posix_spawn", path });
    }
    return { pid: pid[0]!, stdin: stdinPipe[1]!, stdout: stdoutPipe[0]! };
  } finally {
    libc.posix_spawn_file_actions_destroy(actions);
    libc.posix_spawnattr_destroy(attr);
  }
}

/** `waitpid(pid, 0)`, through EINTR: the child's end. */
function reap(libc: Libc<SpawnCall>, pid: number): PipedStatus {
  const status = new Int32Array(1);
  while (libc.waitpid(pid, status, 0) < 0) {
    const error = lastError(libc, { op: "waitpid", subject: `pid ${pid}` });
    if (error.errno !== Errno.EINTR) throw error;
  }
  const s = status[0]!;
  const signal = s & 0x7f;
  if (signal === 0) return { exited: (s >> 8) & 0xff };
  return { signal: SIGNAL_NAMES[signal] ?? `signal ${signal}` };
}

/**
 * Runs `path` to its end, synchronously: starts it (see `spawnPiped`), writes `stdin` to it and
 * closes it, reads its stdout to the end, and reaps it. All of it under `timeoutMs`: at the
 * deadline the child is killed (SIGKILL) and reaped, and the run's status is `timeout`.
 *
 * 1. Write and read as `poll()` allows, so that a child that writes before it reads never
 *    deadlocks with us; a write refused (EPIPE: it exited without reading) drops the rest of
 *    stdin, as its status and output tell what went wrong.
 * 2. Wait for both the end of stdout and the child's exit, seen on a pidfd: a grandchild that
 *    inherited stdout can keep the pipe open after the child exits, which the deadline covers.
 *    Where the kernel has no pidfds (before 5.3), the exit is waited for once stdout ends.
 * 3. Reap it with one `waitpid()`.
 *
 * Replaces `Deno.Command` on the plugin's path: its first spawn loads Deno's process and stream
 * machinery, about 5 ms and 4 MiB per run of the plugin; these calls cost well under 1 ms.
 *
 * @param libc the binding's symbols
 * @param path the executable
 * @param argv its arguments, `argv[0]` included
 * @param env variables set on top of this process's environment, which it inherits
 * @param stdin what to write to its stdin
 * @param options the timeout, the most stdout kept (the rest is read and dropped), the clock
 * @returns its status and stdout
 * @throws {LibcError} when it cannot be started (`code` "ENOENT", "EACCES", ...) or a call fails
 */
export function runPiped(
  libc: Libc<SpawnCall>,
  path: string,
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
  stdin: Uint8Array,
  options: { timeoutMs: number; maxStdout: number; now: () => number },
): PipedRun {
  const deadline = options.now() + options.timeoutMs;
  const child = spawnPiped(libc, path, argv, inheritedEnvironment(libc, env));
  const pidfd = libc.pidfd_open(child.pid, 0);
  let input: number | null = child.stdin;
  let output: number | null = child.stdout;
  let exited = pidfd < 0;
  let written = 0;
  const chunks: Uint8Array[] = [];
  let kept = 0;
  const buffer = new Uint8Array(READ_CHUNK);
  const closeInput = () => {
    if (input !== null) libc.close(input);
    input = null;
  };
  const closeOutput = () => {
    if (output !== null) libc.close(output);
    output = null;
  };
  try {
    if (stdin.length === 0) closeInput();
    // 1. and 2.
    while (output !== null || !exited) {
      const watched: [number, number][] = [];
      if (input !== null) watched.push([input, POLLOUT]);
      if (output !== null) watched.push([output, POLLIN]);
      if (!exited) watched.push([pidfd, POLLIN]);
      const fds = new Int32Array(watched.length * 2);
      watched.forEach(([fd, events], i) => {
        fds[2 * i] = fd;
        fds[2 * i + 1] = events;
      });
      const left = Math.ceil(deadline - options.now());
      if (left <= 0) break;
      const ready = libc.poll(fds, BigInt(watched.length), left);
      if (ready < 0) {
        const error = lastError(libc, { op: "poll", subject: `the pipes of pid ${child.pid}` });
        if (error.errno === Errno.EINTR) continue;
        throw error;
      }
      watched.forEach(([fd], i) => {
        const revents = fds[2 * i + 1]! >>> 16;
        if (revents === 0) return;
        if (fd === input) {
          if ((revents & (POLLERR | POLLHUP | POLLNVAL)) !== 0) return closeInput();
          const part = stdin.subarray(written, written + PIPE_BUF);
          const n = Number(libc.write(fd, part, BigInt(part.length)));
          if (n > 0) written += n;
          else if (n < 0 && errnoLocation(libc)[0] !== Errno.EINTR) closeInput();
          if (written >= stdin.length) closeInput();
        } else if (fd === output) {
          const n = Number(libc.read(fd, buffer, BigInt(buffer.length)));
          if (n > 0) {
            // Keep draining past the limit, so the child never blocks on a full pipe.
            if (kept < options.maxStdout) {
              chunks.push(buffer.slice(0, n));
              kept += n;
            }
          } else if (n === 0 || errnoLocation(libc)[0] !== Errno.EINTR) {
            closeOutput();
          }
        } else {
          exited = true;
        }
      });
    }
    if (output !== null || !exited) {
      libc.kill(child.pid, SIGKILL);
      reap(libc, child.pid);
      return { status: "timeout", stdout: new Uint8Array() };
    }
  } catch (error) {
    libc.kill(child.pid, SIGKILL);
    reap(libc, child.pid);
    throw error;
  } finally {
    closeInput();
    closeOutput();
    if (pidfd >= 0) libc.close(pidfd);
  }
  // 3.
  const status = reap(libc, child.pid);
  const stdout = new Uint8Array(kept);
  let offset = 0;
  for (const chunk of chunks) {
    stdout.set(chunk, offset);
    offset += chunk.length;
  }
  return { status, stdout };
}

/**
 * Opens `path` relative to `dirfd` with `openat2(2)`, whose `resolve` flags restrict how the
 * path may be walked (e.g. {@linkcode RESOLVE_BENEATH} | {@linkcode RESOLVE_NO_SYMLINKS}): the
 * kernel checks every component as it walks, so no other process can swap a component for a
 * link between a check and the open. Linux 5.6 or later.
 *
 * @param libc The binding's symbols.
 * @param dirfd A directory fd, or {@linkcode AT_FDCWD}.
 * @param path The path, relative to `dirfd` (or absolute with `AT_FDCWD`).
 * @param how `flags` (`open()` flags), `mode` (of a new file), `resolve` (`RESOLVE_*`).
 * @param subject Names the file in an error; defaults to the quoted path.
 * @returns The new file descriptor; the caller closes it with {@linkcode close}.
 * @throws {LibcError} When `openat2()` fails: `code` "ELOOP" for a symbolic link, "EXDEV" for a
 *   path that leaves `dirfd`, "ENXIO" for a FIFO without reader, "ENOSYS" on a kernel before 5.6.
 */
export function openat2(
  libc: Libc<"openat2">,
  dirfd: number,
  path: string,
  how: { flags: number; mode: number; resolve: number },
  subject?: string,
): number {
  const openHow = new BigUint64Array([BigInt(how.flags), BigInt(how.mode), BigInt(how.resolve)]);
  const fd = Number(
    libc.openat2(SYS_OPENAT2, BigInt(dirfd), toCString(path), openHow, OPEN_HOW_SIZE),
  );
  if (fd < 0) throw lastError(libc, { op: "openat2", path, ...(subject ? { subject } : {}) });
  return fd;
}

/** What `statx()` tells of a file: its type and mode, owner, link count and identity. */
export interface FileStatus {
  /** `stx_mode`: type ({@linkcode S_IFMT}) and permission bits. */
  mode: number;
  /** `stx_uid`. */
  uid: number;
  /** `stx_nlink`: a regular file with more than one is reachable under another name. */
  nlink: number;
  /** `stx_ino`. */
  ino: bigint;
}

/**
 * Returns the status of `name` in `dirfd` without following a final symbolic link, or of
 * `dirfd` itself when `name` is empty. `struct statx` has one layout on every architecture,
 * unlike `struct stat`.
 *
 * @param libc The binding's symbols.
 * @param dirfd A directory fd (any fd when `name` is empty).
 * @param name A name in it, or `""`.
 * @returns The file's status.
 * @throws {LibcError} When `statx()` fails (`code` "ENOENT" when the name is absent).
 */
export function statusAt(libc: Libc<"statx">, dirfd: number, name: string): FileStatus {
  const buffer = new Uint8Array(STATX_SIZE);
  const flags = AT_SYMLINK_NOFOLLOW | (name === "" ? AT_EMPTY_PATH : 0);
  if (libc.statx(dirfd, toCString(name), flags, STATX_WANTED, buffer) < 0) {
    const context = name === "" ? { subject: `fd ${dirfd}` } : { path: name };
    throw lastError(libc, { op: "statx", ...context });
  }
  const view = new DataView(buffer.buffer);
  return {
    nlink: view.getUint32(16, true),
    uid: view.getUint32(20, true),
    mode: view.getUint16(28, true),
    ino: view.getBigUint64(32, true),
  };
}

/**
 * Creates the directory `name` in `dirfd`.
 *
 * @param libc The binding's symbols.
 * @param dirfd A directory fd, or {@linkcode AT_FDCWD}.
 * @param name The new directory.
 * @param mode Its permission bits (before the umask).
 * @throws {LibcError} When `mkdirat()` fails (`code` "EEXIST" when the name exists).
 */
export function mkdirat(libc: Libc<"mkdirat">, dirfd: number, name: string, mode: number): void {
  if (libc.mkdirat(dirfd, toCString(name), mode) < 0) {
    throw lastError(libc, { op: "mkdirat", path: name });
  }
}

/**
 * Renames `from` to `to`, both names in the directory `dirfd`; an existing `to` is replaced
 * atomically, whatever its mode (a symbolic link at `to` is replaced, not followed).
 *
 * @param libc The binding's symbols.
 * @param dirfd The directory.
 * @param from The old name.
 * @param to The new name.
 * @throws {LibcError} When `renameat()` fails (`code` "EISDIR" when `to` is a directory).
 */
export function renameat(libc: Libc<"renameat">, dirfd: number, from: string, to: string): void {
  if (libc.renameat(dirfd, toCString(from), dirfd, toCString(to)) < 0) {
    throw lastError(libc, {
      op: "rename",
      subject: `${JSON.stringify(from)} to ${JSON.stringify(to)}`,
    });
  }
}

/**
 * Removes the name `name` from the directory `dirfd` (a link is removed, never followed).
 *
 * @param libc The binding's symbols.
 * @param dirfd The directory.
 * @param name The name.
 * @param flags 0, or {@linkcode AT_REMOVEDIR} for a directory.
 * @throws {LibcError} When `unlinkat()` fails (`code` "ENOENT" when the name is absent).
 */
export function unlinkat(libc: Libc<"unlinkat">, dirfd: number, name: string, flags: number): void {
  if (libc.unlinkat(dirfd, toCString(name), flags) < 0) {
    throw lastError(libc, { op: "unlink", path: name });
  }
}

/**
 * Flushes a file's data, or a directory's entries, to disk.
 *
 * @param libc The binding's symbols.
 * @param fd The open file or directory (not an `O_PATH` handle: `EBADF`).
 * @param path Names the file in an error.
 * @throws {LibcError} When `fsync()` fails (`code` "EIO", "EBADF", ...).
 */
export function fsync(libc: Libc<"fsync">, fd: number, path: string): void {
  if (libc.fsync(fd) < 0) throw lastError(libc, { op: "fsync", path });
}

/**
 * The process's effective user ID: the owner its state directories must have.
 *
 * @param libc The binding's symbols.
 * @returns The euid (0 for root).
 */
export function geteuid(libc: Libc<"geteuid">): number {
  return libc.geteuid();
}
