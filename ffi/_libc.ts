/**
 * What the libc bindings of `ffi/` share: loading a binding's symbol table, `errno` and its
 * error, and the calls more than one binding makes. Private to `ffi/`.
 *
 * Deno refuses `/sys` and `/proc` to its own file APIs unless the process runs with
 * `--allow-all`, whatever `--allow-read` grants. Reaching them, and every other file, through
 * libc over FFI lets the plugin run with no Deno file grant at all.
 *
 * An unscoped `--allow-ffi` gives native code the whole process's power, so Deno cannot keep the
 * sysfs reader from writing. The bindings do: each (`sysfs_libc.ts`, `netns_libc.ts`,
 * `pci_driver_libc.ts`, `state_libc.ts`, `ipam_libc.ts`) declares only its job's calls (no `write`
 * for the readers) and binds nothing else, as `tests/unit/boundaries_test.ts` checks. No symbol is
 * `nonblocking`: a network namespace belongs to a thread, and `setns()` must switch the one that
 * runs our netlink calls, the main JS thread, which runs synchronous FFI calls.
 *
 * A failed call throws {@linkcode LibcError}, built from `errno`: `strerror()`'s text, the caller
 * says what it was doing. The layouts read here are glibc's on x86_64 and aarch64.
 *
 * @module
 */

import { readCString, toCString } from "./c_string.ts";
import { Errno, LibcError } from "./errno.ts";
import { boundSymbols, lazySymbols, opener } from "./lazy_symbols.ts";

/** `open()` flags. */
export const O_RDONLY = 0;
export const O_WRONLY = 1;
/** Close the fd on `exec`, so IPAM plugins we start never inherit it. */
export const O_CLOEXEC = 0o2000000;
/** A terminal opened as a file never becomes our controlling terminal. */
export const O_NOCTTY = 0o400;
/**
 * An `open()` of a FIFO never waits for the other end (for writing, one without a reader fails
 * `ENXIO`; for reading, it opens at once).
 */
export const O_NONBLOCK = 0o4000;
/** `*at()` dirfd meaning "the current directory": a relative path, or an absolute one. */
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
const F_OK = 0;
/**
 * `struct stat` is 144 bytes on x86_64 and 128 on aarch64; both start with `st_dev` and `st_ino`
 * (64 bits each), the only fields read here.
 */
const STAT_SIZE = 144;

/** The declarations of the calls more than one binding makes, each binding taking its own. */
export const SHARED_SYMBOLS = {
  // <fcntl.h>
  open: {
    parameters: [
      "buffer", // const char *pathname
      "i32", // int flags
      "u32", // mode_t mode (read by libc only with O_CREAT or O_TMPFILE)
    ],
    result: "i32",
  },
  faccessat: {
    parameters: [
      "i32", // int dirfd
      "buffer", // const char *pathname
      "i32", // int mode
      "i32", // int flags
    ],
    result: "i32",
  },
  // <unistd.h>
  close: {
    parameters: [
      "i32", // int fd
    ],
    result: "i32",
  },
  read: {
    parameters: [
      "i32", // int fd
      "buffer", // void *buf
      "usize", // size_t count
    ],
    result: "isize",
  },
  write: {
    parameters: [
      "i32", // int fd
      "buffer", // const void *buf
      "usize", // size_t count
    ],
    result: "isize",
  },
  // <sys/stat.h>
  fstat: {
    parameters: [
      "i32", // int fd
      "buffer", // struct stat *statbuf
    ],
    result: "i32",
  },
  // <dirent.h>
  readdir: {
    parameters: [
      "pointer", // DIR *dirp
    ],
    result: "pointer",
  },
  closedir: {
    parameters: [
      "pointer", // DIR *dirp
    ],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** What every binding binds besides its calls: a failed call's error is built with them. */
const ERROR_SYMBOLS = {
  // <string.h>
  strerror: {
    parameters: [
      "i32", // int errnum
    ],
    result: "pointer",
  },
  // <errno.h>
  __errno_location: {
    parameters: [],
    result: "pointer",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded symbols of a binding whose table is `S`. */
export type Libc<S extends Deno.ForeignLibraryInterface = Record<never, never>> =
  & Deno.DynamicLibrary<S>["symbols"]
  & Deno.DynamicLibrary<typeof ERROR_SYMBOLS>["symbols"];

/** A binding that has the shared calls `K`. */
type With<K extends keyof typeof SHARED_SYMBOLS> = Libc<Pick<typeof SHARED_SYMBOLS, K>>;

const openLibc = opener("libc.so.6");

/**
 * A loader of one binding's symbols: the first call opens libc, later calls return the same
 * object. Each call of `table` is bound when first made (`lazySymbols()`), and no symbol outside
 * it ever is. Nothing is loaded at import time, so modules that import a binding work without
 * `--allow-ffi`. The loader throws as `opener()` does.
 */
export function libcLoader<S extends Deno.ForeignLibraryInterface>(table: S): () => Libc<S> {
  let loaded: Libc<S> | null = null;
  return () => {
    loaded ??= Object.assign(lazySymbols("libc.so.6", table, openLibc), errorSymbols()) as Libc<S>;
    return loaded;
  };
}

let boundErrorSymbols: Libc | null = null;

/**
 * The error symbols, bound once for every binding (reading `errno` and its text grants nothing).
 * They are bound before any call: binding one between a failed call and the read of its errno
 * would run dlsym(3), which may change errno. Opening libc here (with no symbol) also makes a
 * missing library or permission fail at a binding's first use.
 */
function errorSymbols(): Libc {
  if (boundErrorSymbols === null) {
    openLibc({});
    boundErrorSymbols = boundSymbols("libc.so.6", ERROR_SYMBOLS, openLibc);
  }
  return boundErrorSymbols;
}

/** The calling thread's `errno`. Read it right after the failing call, before any other. */
export function errnoLocation(libc: Libc): Int32Array {
  const ptr = libc.__errno_location();
  if (ptr === null) throw new Error("__errno_location() returned NULL");
  return new Int32Array(Deno.UnsafePointerView.getArrayBuffer(ptr, 4));
}

/** The error of `op`, a call that failed with `errno`. */
export function libcError(libc: Libc, op: string, errno: number): LibcError {
  const text = libc.strerror(errno);
  return new LibcError(op, errno, text === null ? `errno ${errno}` : readCString(text));
}

/** Reads `errno` now and builds the error of `op`, the call that just failed. */
export function lastError(libc: Libc, op: string): LibcError {
  return libcError(libc, op, errnoLocation(libc)[0] ?? 0);
}

/** The flags that let an `open()` change a file: O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND. */
const CHANGING_FLAGS = O_WRONLY | 0o2 | 0o100 | 0o1000 | 0o2000;

/**
 * Opens a file for reading, like `open(2)`. Flags that could change the file (write, create,
 * truncate, append) throw before any call, so a binding without `write` cannot change a file.
 */
export function openReadOnly(libc: With<"open">, path: string, flags: number): number {
  if ((flags & CHANGING_FLAGS) !== 0) {
    throw new Error(
      `Cannot open ${JSON.stringify(path)}: flags 0o${flags.toString(8)} could change it`,
    );
  }
  const fd = libc.open(toCString(path), flags, 0);
  if (fd < 0) throw lastError(libc, "open");
  return fd;
}

export function close(libc: With<"close">, fd: number): void {
  if (libc.close(fd) < 0) throw lastError(libc, "close");
}

/** Reads an open file from its position to end of file: "EFBIG" past `maxBytes`. */
export function readAll(libc: With<"read">, fd: number, maxBytes: number): Uint8Array {
  // One byte more than allowed, so that a file of exactly maxBytes is told from a longer one; the
  // buffer grows from 64 KiB, so a large limit costs nothing for a small file.
  let buffer = new Uint8Array(Math.min(maxBytes + 1, 64 * 1024));
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > maxBytes) throw libcError(libc, "read", Errno.EFBIG);
      const larger = new Uint8Array(Math.min(length * 2, maxBytes + 1));
      larger.set(buffer);
      buffer = larger;
    }
    const n = Number(libc.read(fd, buffer.subarray(length), BigInt(buffer.length - length)));
    if (n < 0) throw lastError(libc, "read");
    if (n === 0) return buffer.slice(0, length);
    length += n;
  }
}

/** Writes all of `bytes`, in one `write()` unless the kernel takes less. */
export function writeAll(libc: With<"write">, fd: number, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) {
    const n = Number(libc.write(fd, bytes.subarray(written), BigInt(bytes.length - written)));
    if (n < 0) throw lastError(libc, "write");
    // write() of a non-empty buffer returns 0 only when nothing more will ever be taken.
    if (n === 0) throw libcError(libc, "write", Errno.EIO);
    written += n;
  }
}

/**
 * Whether a path exists, a final symbolic link not followed (a dangling link exists); `false`
 * when it or a parent is absent (ENOENT, ENOTDIR), the error for any other answer.
 */
export function lstatExists(libc: With<"faccessat">, path: string): boolean {
  if (libc.faccessat(AT_FDCWD, toCString(path), F_OK, AT_SYMLINK_NOFOLLOW) === 0) return true;
  const error = lastError(libc, "faccessat");
  if (error.errno === Errno.ENOENT || error.errno === Errno.ENOTDIR) return false;
  throw error;
}

/** `struct dirent`: d_ino u64, d_off i64, d_reclen u16, d_type u8, then d_name. */
const DIRENT_RECLEN_OFFSET = 16;
const DIRENT_TYPE_OFFSET = 18;
const DIRENT_NAME_OFFSET = 19;

/** An entry of a directory: its name and its `d_type` (`DT_UNKNOWN` 0, `DT_REG` 8, …). */
export interface DirEntry {
  name: string;
  type: number;
}

/**
 * Lists an open `DIR *`, without `.` and `..`, in the order the kernel returns the entries, and
 * closes it (a read-only DIR loses nothing when closedir() fails).
 */
export function readEntries(
  libc: With<"readdir" | "closedir">,
  dir: Deno.PointerObject,
): DirEntry[] {
  try {
    const errno = errnoLocation(libc);
    const entries: DirEntry[] = [];
    for (;;) {
      // readdir() returns NULL both at the end and on error; only errno tells them apart.
      errno[0] = 0;
      const entry = libc.readdir(dir);
      if (entry === null) {
        if (errno[0] !== 0) throw lastError(libc, "readdir");
        return entries;
      }
      const view = new Deno.UnsafePointerView(entry);
      const namePtr = Deno.UnsafePointer.offset(entry, DIRENT_NAME_OFFSET)!;
      const name = readCString(namePtr, view.getUint16(DIRENT_RECLEN_OFFSET) - DIRENT_NAME_OFFSET);
      if (name !== "." && name !== "..") {
        entries.push({ name, type: view.getUint8(DIRENT_TYPE_OFFSET) });
      }
    }
  } finally {
    libc.closedir(dir);
  }
}

/** What tells one file from another: the device it lives on and its inode number. */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
}

/**
 * The identity of an open file, to tell whether two descriptors (a log file and stdout, two
 * namespace handles) are the same file whatever the paths they were opened by.
 */
export function fileIdentity(libc: With<"fstat">, fd: number): FileIdentity {
  const buffer = new BigUint64Array(STAT_SIZE / 8);
  if (libc.fstat(fd, buffer) < 0) throw lastError(libc, "fstat");
  return { dev: buffer[0] ?? 0n, ino: buffer[1] ?? 0n };
}
