/**
 * The IPAM exec's libc binding (`lib/ipam/` only): the one module that starts processes. It
 * spawns the IPAM plugin, writes its stdin and reads its stdout through pipes, waits for it and
 * kills it at the timeout; `write` reaches only the pipe to the child's stdin. The child inherits
 * this process's environment, read from libc's `environ` and copied as it is, as libcni's
 * delegates inherit the runtime's: Deno's `--allow-env` grant (`CNI_*`) does not cover it.
 *
 * @module
 */

import * as libc from "./libc.ts";

/** The calls starting, feeding, reading, waiting for and killing a child need. */
export const IPAM_LIBC_SYMBOLS = libc.libcTable(
  "posix_spawn",
  "posix_spawn_file_actions_init",
  "posix_spawn_file_actions_adddup2",
  "posix_spawn_file_actions_destroy",
  "posix_spawnattr_init",
  "posix_spawnattr_setflags",
  "posix_spawnattr_setsigdefault",
  "posix_spawnattr_setsigmask",
  "posix_spawnattr_destroy",
  "sigemptyset",
  "sigaddset",
  "pipe2",
  "pidfd_open",
  "poll",
  "read",
  "write",
  "close",
  "kill",
  "waitpid",
  "environ",
);

/** Loads libc with {@linkcode IPAM_LIBC_SYMBOLS} once; later calls return the same object. */
export const openIpamLibc = libc.libcLoader(IPAM_LIBC_SYMBOLS);

/** {@linkcode libc.runPiped}. */
export const runPiped = (
  path: string,
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
  stdin: Uint8Array,
  options: { timeoutMs: number; maxStdout: number; now: () => number },
): libc.PipedRun => libc.runPiped(openIpamLibc(), path, argv, env, stdin, options);

export type { PipedRun, PipedStatus } from "./libc.ts";
