/**
 * The Linux errno values the plugin may meet, by name (asm-generic, shared by x86_64 and
 * aarch64), and {@linkcode LibcError}, the error of a failed libc call. The one errno table: libc
 * errors name their errno from it, and libnl errors name the errno an `NLE_*` code stands for.
 *
 * No native code here: any module may import it to tell errors apart.
 *
 * @module
 */

export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  ENOTBLK: 15,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  EDOM: 33,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENODATA: 61,
  EOVERFLOW: 75,
  EMSGSIZE: 90,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRNOTAVAIL: 99,
  ENETUNREACH: 101,
  ETIMEDOUT: 110,
  ESTALE: 116,
} as const;

const NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(Errno).map(([name, value]) => [value, name]),
);

/** The name of an errno value (`"ENOENT"`), or `"E<n>"` for a value without a known name. */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `E${errno}`;
}

/**
 * A libc call failed. The message is `strerror()`'s text for `errno` (`No such file or
 * directory`), or the caller's words for what the errno means there; the caller says what it was
 * doing, and on what.
 */
export class LibcError extends Error {
  override name = "LibcError";
  /** The errno's name, as `NetlinkError.errnoName`: `"ENOENT"`, or `"E<n>"` when unnamed. */
  readonly errnoName: string;

  constructor(readonly op: string, readonly errno: number, message: string) {
    super(message);
    this.errnoName = errnoName(errno);
  }
}
