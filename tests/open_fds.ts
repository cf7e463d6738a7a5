import { AT_FDCWD, DIR_FLAGS, openat2, readDirFd } from "../ffi/state_libc.ts";

/**
 * How many fds the process holds. Deno's resource sanitizer does not see fds opened over FFI,
 * and its file APIs refuse `/proc` without `--allow-all`, so this lists `/proc/self/fd` through
 * libc.
 */
export function openFds(): number {
  return readDirFd(openat2(AT_FDCWD, "/proc/self/fd", DIR_FLAGS, 0)).length;
}
