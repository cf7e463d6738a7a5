/**
 * The glibc symbols the plugin calls, in the order of the headers that declare them
 * (`<fcntl.h>`, `<unistd.h>`, `<stdio.h>`, `<dirent.h>`, `<sys/stat.h>`, `<sys/vfs.h>`,
 * `<sched.h>`, `<spawn.h>`, `<signal.h>`, `<sys/wait.h>`, `<sys/pidfd.h>`, `<poll.h>`,
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
  /**
   * `openat2(2)` through `syscall(2)`: glibc 2.36 (Debian 12) has no wrapper. `syscall` is
   * variadic; on x86_64 and aarch64 its integer and pointer arguments travel in the same
   * registers as a fixed call's, and openat2 is syscall 437 on both.
   */
  openat2: {
    name: "syscall",
    parameters: [
      "i64", // long number (SYS_openat2)
      "i64", // int dirfd
      "buffer", // const char *pathname
      "buffer", // struct open_how *how
      "usize", // size_t size
    ],
    result: "i64",
  },
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
  fsync: {
    parameters: [
      "i32", // int fd
    ],
    result: "i32",
  },
  unlinkat: {
    parameters: [
      "i32", // int dirfd
      "buffer", // const char *pathname
      "i32", // int flags
    ],
    result: "i32",
  },
  geteuid: {
    parameters: [],
    result: "u32",
  },
  readlink: {
    parameters: [
      "buffer", // const char *pathname
      "buffer", // char *buf
      "usize", // size_t bufsiz
    ],
    result: "isize",
  },
  // <stdio.h>
  renameat: {
    parameters: [
      "i32", // int olddirfd
      "buffer", // const char *oldpath
      "i32", // int newdirfd
      "buffer", // const char *newpath
    ],
    result: "i32",
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
  mkdirat: {
    parameters: [
      "i32", // int dirfd
      "buffer", // const char *pathname
      "u32", // mode_t mode
    ],
    result: "i32",
  },
  statx: {
    parameters: [
      "i32", // int dirfd
      "buffer", // const char *pathname
      "i32", // int flags
      "u32", // unsigned int mask
      "buffer", // struct statx *statxbuf
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
  // <spawn.h>
  posix_spawn: {
    parameters: [
      "buffer", // pid_t *pid
      "buffer", // const char *path
      "buffer", // const posix_spawn_file_actions_t *file_actions
      "buffer", // const posix_spawnattr_t *attrp
      "buffer", // char *const argv[]
      "buffer", // char *const envp[]
    ],
    result: "i32",
  },
  posix_spawn_file_actions_init: {
    parameters: [
      "buffer", // posix_spawn_file_actions_t *file_actions
    ],
    result: "i32",
  },
  posix_spawn_file_actions_adddup2: {
    parameters: [
      "buffer", // posix_spawn_file_actions_t *file_actions
      "i32", // int fildes
      "i32", // int newfildes
    ],
    result: "i32",
  },
  posix_spawn_file_actions_destroy: {
    parameters: [
      "buffer", // posix_spawn_file_actions_t *file_actions
    ],
    result: "i32",
  },
  posix_spawnattr_init: {
    parameters: [
      "buffer", // posix_spawnattr_t *attr
    ],
    result: "i32",
  },
  posix_spawnattr_setflags: {
    parameters: [
      "buffer", // posix_spawnattr_t *attr
      "i16", // short flags
    ],
    result: "i32",
  },
  posix_spawnattr_setsigdefault: {
    parameters: [
      "buffer", // posix_spawnattr_t *attr
      "buffer", // const sigset_t *sigdefault
    ],
    result: "i32",
  },
  posix_spawnattr_setsigmask: {
    parameters: [
      "buffer", // posix_spawnattr_t *attr
      "buffer", // const sigset_t *sigmask
    ],
    result: "i32",
  },
  posix_spawnattr_destroy: {
    parameters: [
      "buffer", // posix_spawnattr_t *attr
    ],
    result: "i32",
  },
  // <signal.h>
  sigemptyset: {
    parameters: [
      "buffer", // sigset_t *set
    ],
    result: "i32",
  },
  sigaddset: {
    parameters: [
      "buffer", // sigset_t *set
      "i32", // int signum
    ],
    result: "i32",
  },
  kill: {
    parameters: [
      "i32", // pid_t pid
      "i32", // int sig
    ],
    result: "i32",
  },
  // <sys/wait.h>
  waitpid: {
    parameters: [
      "i32", // pid_t pid
      "buffer", // int *wstatus
      "i32", // int options
    ],
    result: "i32",
  },
  // <unistd.h>: `char **environ`, the process's environment as the kernel and libc keep it (a
  // static: the symbol is the variable's address)
  environ: {
    type: "pointer",
  },
  // <sys/pidfd.h>
  pidfd_open: {
    parameters: [
      "i32", // pid_t pid
      "u32", // unsigned int flags
    ],
    result: "i32",
  },
  // <unistd.h>, for the pipes of a spawned child
  pipe2: {
    parameters: [
      "buffer", // int pipefd[2]
      "i32", // int flags
    ],
    result: "i32",
  },
  // <poll.h>
  poll: {
    parameters: [
      "buffer", // struct pollfd *fds
      "u64", // nfds_t nfds
      "i32", // int timeout
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
