/**
 * Network namespace handles, and running synchronous code inside a namespace.
 *
 * A network namespace belongs to a thread. Synchronous FFI calls run on the main JS thread, so
 * libc `setns()` switches the very thread that runs our netlink calls; an `await` would let other
 * code run in the wrong namespace, and async ops run on other threads. Hence {@linkcode withNetns}
 * takes a synchronous function only, and always switches back, or else stops the process.
 *
 * @module
 */

import { errorMessage } from "../error_message.ts";
import {
  CLONE_NEWNET,
  close,
  fstatfsType,
  lstatExists,
  NSFS_MAGIC,
  O_CLOEXEC,
  O_NOCTTY,
  O_NONBLOCK,
  O_RDONLY,
  open,
  setns,
} from "../../ffi/netns_libc.ts";
import { Errno, LibcError } from "../../ffi/errno.ts";
import type { Netns } from "./netlink.ts";
import { quote } from "../cni/quote.ts";

/**
 * The calling thread's own network namespace. `/proc/self` would name the main thread of the
 * process, which is the same thread for us but not for a caller running in a worker.
 */
export const THREAD_NETNS_PATH = "/proc/thread-self/ns/net";

/**
 * Stops the process when the thread cannot switch back from a namespace; it never returns. The
 * thread is then in the wrong namespace, and nothing more may run in this process: no catch or
 * finally block of a caller (a rollback, the next attachment of a GC), no IPAM spawn. Only
 * `cli.ts` may exit, so it hands one to each real netlink it builds.
 */
export type LostNetns = (message: string) => never;

/** A namespace held open by a file descriptor from libc `open()`, which it owns. */
export class NetnsHandle implements Netns {
  #fd: number;

  constructor(readonly path: string, fd: number) {
    this.#fd = fd;
  }

  /** -1 after `close()`. */
  get fd(): number {
    return this.#fd;
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    // A namespace fd is read-only: a failed close() loses nothing worth reporting.
    try {
      close(fd);
    } catch (error) {
      if (!(error instanceof LibcError)) throw error;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Opens a network namespace by path, such as `CNI_NETNS`.
 *
 * @throws {LibcError} `ENOENT` (`no such file`) when nothing is at `path`, `EINVAL` (`not a
 *   network namespace`) when it is not a namespace; the failed call's errno for anything else.
 */
export function openNetns(path: string): NetnsHandle {
  let fd: number;
  try {
    // A FIFO would block a plain read-only open until some writer came, forever; a terminal
    // could become our controlling terminal. Neither is a namespace: fstatfs() refuses them.
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  } catch (error) {
    if (error instanceof LibcError && error.errno === Errno.ENOENT) {
      throw new LibcError("open", Errno.ENOENT, "no such file");
    }
    throw error;
  }
  const handle = new NetnsHandle(path, fd);
  try {
    // Only an nsfs file can be a namespace handle: anything else (a regular file, a directory, a
    // bind mount that vanished) would make setns() fail later with a less clear EINVAL.
    if (fstatfsType(fd) !== NSFS_MAGIC) {
      throw new LibcError("setns", Errno.EINVAL, "not a network namespace");
    }
  } catch (error) {
    handle.close();
    throw error;
  }
  return handle;
}

/**
 * Whether a netns path may still exist, for the state store's allocation check: asks libc
 * (`faccessat`, not following the final link), because Deno refuses `/proc` paths such as
 * `/proc/<pid>/ns/net` to its own file APIs. Only "not found" means gone; any other answer (EACCES,
 * say) counts as alive, because taking a device from a live pod is worse than refusing an ADD.
 */
export function netnsPathExists(path: string): boolean {
  if (path === "") return false;
  try {
    return lstatExists(path);
  } catch {
    return true;
  }
}

/**
 * Opens the namespace the calling thread is in now, as {@linkcode THREAD_NETNS_PATH}.
 *
 * @throws {LibcError} when `/proc` is not mounted or cannot be read.
 */
export function hostNetns(): NetnsHandle {
  return openNetns(THREAD_NETNS_PATH);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

/**
 * Runs `fn` with the calling thread inside `ns`, then switches back, whether `fn` returned or
 * threw.
 *
 * `fn` must be synchronous: after an `await`, other code would run in `ns`, and the rest of `fn`
 * might not. A thenable result is rejected with a `TypeError` (after switching back).
 *
 * @param lost Called, never to return, when switching back fails (`tests/e2e/lost_netns_test.ts`).
 * @throws {LibcError} when the current namespace cannot be opened or `ns` cannot be entered
 *   (nothing ran).
 */
export function withNetns<T>(ns: Netns, fn: () => T, lost: LostNetns): T {
  using back = hostNetns();
  // Nothing has changed if this fails.
  setns(ns.fd, CLONE_NEWNET);
  // If switching back fails, the process stops there: continuing in the wrong namespace is never
  // safe.
  let result: T;
  try {
    result = fn();
  } finally {
    try {
      setns(back.fd, CLONE_NEWNET);
    } catch (error) {
      lost(`Cannot return from netns ${quote(ns.path)}: ${errorMessage(error)}`);
    }
  }
  if (isThenable(result)) {
    // Keep a rejection of the stray promise from crashing the process as unhandled.
    result.then(undefined, () => {});
    throw new TypeError(
      `withNetns(${quote(ns.path)}) needs a synchronous function; it returned a promise`,
    );
  }
  return result;
}
