/**
 * The glibc symbols the plugin calls, in the order of the headers that declare them
 * (`<fcntl.h>`, `<unistd.h>`, `<dirent.h>`, `<sys/stat.h>`, `<sys/vfs.h>`, `<sched.h>`,
 * `<string.h>`, `<errno.h>`). Data only: no binding loads the whole table; each takes the
 * symbols its job needs with `libcTable()` of `ffi/libc.ts`.
 *
 * No symbol is `nonblocking`: a network namespace belongs to a thread, and `setns()` must switch
 * the thread that runs our netlink calls, which is the main JS thread that runs synchronous FFI
 * calls. A `nonblocking` symbol would run on another thread.
 *
 * @module
 */

/** The declarations of every libc symbol a binding may ask for. */
export const LIBC_SYMBOLS = {
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
  // <sys/stat.h>
  fstat: {
    parameters: [
      "i32", // int fd
      "buffer", // struct stat *statbuf
    ],
    result: "i32",
  },
  // <sys/vfs.h>
  fstatfs: {
    parameters: [
      "i32", // int fd
      "buffer", // struct statfs *buf
    ],
    result: "i32",
  },
  // <sched.h>
  setns: {
    parameters: [
      "i32", // int fd
      "i32", // int nstype
    ],
    result: "i32",
  },
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
