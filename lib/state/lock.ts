import * as z from "zod/mini";
import { tryLock } from "../../ffi/state_libc.ts";
import { lazy } from "../lazy.ts";
import { closeQuietly, type ConfinedDir, failure } from "./confined_dir.ts";
import { StateError } from "./state_error.ts";

/** First pause between two attempts; doubles up to {@link MAX_DELAY_MS}. */
const FIRST_DELAY_MS = 5;
/** Longest pause: a waiter notices a released lock within this time. */
const MAX_DELAY_MS = 50;

/** What `<name>.owner` holds while the lock is held; a holder that is not a string is dropped. */
const lockOwnerSchema = lazy(() =>
  z.object({
    pid: z.number(),
    holder: z.catch(z.optional(z.string()), undefined),
  })
);
type LockOwner = z.output<ReturnType<typeof lockOwnerSchema>>;

/**
 * An exclusive lock held on `<dir>/<name>.lock`. Disposing it releases the lock; the lock file
 * itself stays, because removing a lock file lets a waiter lock a file nobody else opens again.
 */
class FileLock implements Disposable {
  constructor(readonly dir: ConfinedDir, private fd: number, readonly owner: string) {}

  /**
   * Releases the lock. Idempotent, and never throws: it runs at the end of a `using` block,
   * where an error would hide the one that ended the block. The owner file goes first, while
   * we still hold the lock, so it can never name us while someone else holds it.
   */
  [Symbol.dispose](): void {
    if (this.fd < 0) return;
    try {
      this.dir.remove(this.owner);
      // And the temp file of a holder killed while writing it: we hold the lock, so no live
      // process writes this owner file now.
      this.dir.removeTemps(this.owner);
    } catch {
      // A stale owner file only makes a later timeout message name us wrongly.
    }
    // Closing the fd releases the flock.
    closeQuietly(this.fd);
    this.fd = -1;
  }
}

/**
 * Takes the exclusive lock `<dir>/<name>.lock`: an flock(2) on the file, as the Go plugin takes
 * its `cni.lock`, so it is released by the kernel when the process dies, and two opens of the file
 * (in one process or two) exclude each other. The wait polls with a growing pause (5 ms doubling
 * to 50 ms) rather than blocking in `flock`, because a blocking lock cannot time out. The lock
 * file is created 0600; once it is held, our PID and `holder` go to `<dir>/<name>.owner`, so a
 * waiter that times out can say who holds the lock.
 *
 * @param run the run directory (`/var/run/cni/ib-sriov`), which stays open after the lock
 * @param timeoutMs give up after this long (0: one attempt)
 * @throws {StateError} code `busy` on timeout, naming the holder's PID; `io` when the directory
 *   or the files cannot be used
 */
export async function acquireLock(
  run: ConfinedDir,
  name: string,
  timeoutMs: number,
  holder?: string,
): Promise<Disposable> {
  const lockPath = `${run.path}/${name}.lock`;
  let fd = -1;
  try {
    fd = run.openLock(`${name}.lock`);
    const deadline = performance.now() + timeoutMs;
    for (let delay = FIRST_DELAY_MS; !tryLock(fd); delay = Math.min(delay * 2, MAX_DELAY_MS)) {
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new StateError(
          "busy",
          lockPath,
          `timed out after ${timeoutMs} ms waiting for lock "${name}" held by ` +
            describeOwner(run, `${name}.owner`),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
    }
  } catch (err) {
    if (fd >= 0) closeQuietly(fd);
    throw failure(lockPath, "lock", err);
  }
  const lock = new FileLock(run, fd, `${name}.owner`);
  try {
    const owner: LockOwner = { pid: Deno.pid };
    if (holder !== undefined) owner.holder = holder;
    // Only a waiter's timeout message reads it, and the lock directory is a tmpfs that a power
    // cut clears: no fsync.
    run.replace(lock.owner, JSON.stringify(owner), { durability: "none" });
  } catch (err) {
    lock[Symbol.dispose]();
    throw err;
  }
  return lock;
}

/** `pid 123 (holder)`, or `an unknown process` when the owner file is missing or unreadable. */
function describeOwner(dir: ConfinedDir, name: string): string {
  let owner: LockOwner;
  try {
    owner = lockOwnerSchema().parse(JSON.parse(dir.read(name, 4096) ?? "null"));
  } catch {
    // The holder is between taking the lock and writing its owner file, or the file is damaged.
    return "an unknown process";
  }
  return owner.holder ? `pid ${owner.pid} (${owner.holder})` : `pid ${owner.pid}`;
}
