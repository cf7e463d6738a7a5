/**
 * The IPAM exec's libc binding (`lib/ipam/` only): the one module that starts processes. It
 * spawns the IPAM plugin, writes its stdin and reads its stdout through pipes, waits for it and
 * kills it at the timeout; `write` reaches only the pipe to the child's stdin. The child inherits
 * this process's environment, read from libc's `environ` and copied as it is, as libcni's
 * delegates inherit the runtime's: Deno's `--allow-env` grant (`CNI_*`) does not cover it.
 *
 * @module
 */

import * as shared from "./_libc.ts";
import { readCString, toCString } from "./c_string.ts";
import { Errno } from "./errno.ts";

/** The calls starting, feeding, reading, waiting for and killing a child need. */
export const IPAM_LIBC_SYMBOLS = {
  read: shared.SHARED_SYMBOLS.read,
  write: shared.SHARED_SYMBOLS.write,
  close: shared.SHARED_SYMBOLS.close,
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
} as const satisfies Deno.ForeignLibraryInterface;

export const openIpamLibc = shared.libcLoader(IPAM_LIBC_SYMBOLS);

type IpamLibc = ReturnType<typeof openIpamLibc>;

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
  libc: IpamLibc,
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
 * @throws {LibcError} when a pipe cannot be made or `posix_spawn()` fails (`code` "ENOENT" when
 *   there is no such file, "EACCES" when it cannot be executed)
 */
function spawnPiped(
  libc: IpamLibc,
  path: string,
  argv: readonly string[],
  env: readonly string[],
): { pid: number; stdin: number; stdout: number } {
  const stdinPipe = new Int32Array(2);
  const stdoutPipe = new Int32Array(2);
  if (libc.pipe2(stdinPipe, shared.O_CLOEXEC) < 0) throw shared.lastError(libc, "pipe2");
  if (libc.pipe2(stdoutPipe, shared.O_CLOEXEC) < 0) {
    const error = shared.lastError(libc, "pipe2");
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
      throw shared.libcError(libc, "posix_spawn", errno);
    }
    return { pid: pid[0]!, stdin: stdinPipe[1]!, stdout: stdoutPipe[0]! };
  } finally {
    libc.posix_spawn_file_actions_destroy(actions);
    libc.posix_spawnattr_destroy(attr);
  }
}

/** `waitpid(pid, 0)`, through EINTR: the child's end. */
function reap(libc: IpamLibc, pid: number): PipedStatus {
  const status = new Int32Array(1);
  while (libc.waitpid(pid, status, 0) < 0) {
    const error = shared.lastError(libc, "waitpid");
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
 * @param argv its arguments, `argv[0]` included
 * @throws {LibcError} when it cannot be started (`code` "ENOENT", "EACCES", ...) or a call fails
 */
export function runPiped(
  path: string,
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
  stdin: Uint8Array,
  options: { timeoutMs: number; maxStdout: number; now: () => number },
): PipedRun {
  const libc = openIpamLibc();
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
        const error = shared.lastError(libc, "poll");
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
          else if (n < 0 && shared.errnoLocation(libc)[0] !== Errno.EINTR) closeInput();
          if (written >= stdin.length) closeInput();
        } else if (fd === output) {
          const n = Number(libc.read(fd, buffer, BigInt(buffer.length)));
          if (n > 0) {
            // Keep draining past the limit, so the child never blocks on a full pipe.
            if (kept < options.maxStdout) {
              chunks.push(buffer.slice(0, n));
              kept += n;
            }
          } else if (n === 0 || shared.errnoLocation(libc)[0] !== Errno.EINTR) {
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
