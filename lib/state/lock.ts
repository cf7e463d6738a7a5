import * as z from "zod/mini";
import { errorMessage } from "../error_message.ts";
import { join } from "../path.ts";
import {
  ensureDir,
  readIfExists,
  removeIfExists,
  removeTempFiles,
  writeFileAtomic,
} from "./files.ts";
import { assertSafeName } from "./safe_name.ts";
import { StateError } from "./state_error.ts";
import { lazy } from "../lazy.ts";

/** First pause between two attempts; doubles up to {@link MAX_DELAY_MS}. */
const FIRST_DELAY_MS = 5;
/** Longest pause: a waiter notices a released lock within this time. */
const MAX_DELAY_MS = 50;

/** Options of {@link acquireLock}. */
export interface LockOptions {
  /** Give up after this long (0: one attempt). */
  timeoutMs: number;
  /** Who is asking (e.g. the container ID), written next to our PID for a waiter's message. */
  holder?: string;
}

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
export class FileLock implements Disposable {
  #file: Deno.FsFile | null;
  readonly #ownerPath: string;

  /**
   * @param file the locked lock file; the lock owns it from now on
   * @param ownerPath the `<name>.owner` file written after locking
   */
  constructor(file: Deno.FsFile, ownerPath: string) {
    this.#file = file;
    this.#ownerPath = ownerPath;
  }

  /**
   * Releases the lock. Idempotent, and never throws: it runs at the end of a `using` block,
   * where an error would hide the one that ended the block. The owner file goes first, while
   * we still hold the lock, so it can never name us while someone else holds it.
   */
  [Symbol.dispose](): void {
    const file = this.#file;
    if (file === null) return;
    this.#file = null;
    try {
      removeIfExists(this.#ownerPath);
      // And the temp file of a holder killed while writing it: we hold the lock, so no live
      // process writes this owner file now.
      removeTempFiles(this.#ownerPath);
    } catch {
      // A stale owner file only makes a later timeout message name us wrongly.
    }
    try {
      file.unlockSync();
    } finally {
      // Closing the fd releases the flock even if unlocking failed.
      file.close();
    }
  }
}

/**
 * Takes the exclusive lock `<dir>/<name>.lock`: an flock(2) on the file, so it is released by
 * the kernel when the process dies, and two opens of the file (in one process or two)
 * exclude each other. The wait polls `tryLockSync` with a growing pause (5 ms doubling to
 * 50 ms) rather than blocking in `flock`, because a blocking lock cannot time out.
 *
 * 1. Create `dir` (0700) and open the lock file (0600), creating it.
 * 2. Try to lock until `timeoutMs` has passed.
 * 3. Write our PID and `holder` to `<dir>/<name>.owner`, so a waiter that times out can say
 *    who holds the lock.
 *
 * @param dir the run directory (`/var/run/cni/ib-sriov`)
 * @param name the lock's name: a PCI address, or `node` for the node-wide lock
 * @param options the timeout and who we are
 * @returns the held lock; dispose it to release
 * @throws {StateError} code `busy` on timeout, naming the holder's PID; `invalid-name` for a
 *   name that is not a plain file name; `io` when the directory or the files cannot be created
 */
export async function acquireLock(
  dir: string,
  name: string,
  options: LockOptions,
): Promise<FileLock> {
  assertSafeName(name, "lock name");
  ensureDir(dir);
  const lockPath = join(dir, `${name}.lock`);
  const ownerPath = join(dir, `${name}.owner`);
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(lockPath, { read: true, write: true, create: true, mode: 0o600 });
  } catch (err) {
    throw new StateError(
      "io",
      lockPath,
      `Cannot open lock file "${lockPath}": ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  try {
    const deadline = performance.now() + options.timeoutMs;
    let delay = FIRST_DELAY_MS;
    while (!file.tryLockSync(true)) {
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new StateError(
          "busy",
          lockPath,
          `timed out after ${options.timeoutMs} ms waiting for lock "${name}" held by ` +
            describeOwner(ownerPath),
        );
      }
      await sleep(Math.min(delay, left));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  } catch (err) {
    file.close();
    if (err instanceof StateError) throw err;
    throw new StateError("io", lockPath, `Cannot lock "${lockPath}": ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const lock = new FileLock(file, ownerPath);
  try {
    const owner: LockOwner = { pid: Deno.pid };
    if (options.holder !== undefined) owner.holder = options.holder;
    // Only a waiter's timeout message reads it, and the lock directory is a tmpfs that a power
    // cut clears: no fsync.
    writeFileAtomic(ownerPath, JSON.stringify(owner), { durability: "none" });
  } catch (err) {
    lock[Symbol.dispose]();
    throw err;
  }
  return lock;
}

/** `pid 123 (holder)`, or `an unknown process` when the owner file is missing or unreadable. */
function describeOwner(ownerPath: string): string {
  let owner: LockOwner;
  try {
    owner = lockOwnerSchema().parse(JSON.parse(readIfExists(ownerPath) ?? "null"));
  } catch {
    // The holder is between taking the lock and writing its owner file, or the file is damaged.
    return "an unknown process";
  }
  return owner.holder ? `pid ${owner.pid} (${owner.holder})` : `pid ${owner.pid}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
