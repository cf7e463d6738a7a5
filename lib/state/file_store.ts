import { quote } from "../cni/quote.ts";
import { MAX_CONFIG_BYTES } from "../config/limits.ts";
import { isFileName, join } from "../path.ts";
import { decodeAttachment, deviceOwnerSchema, encodeAttachment } from "./attachment_record.ts";
import { ConfinedDir, type Durability, ifExists } from "./confined_dir.ts";
import { decodeState, parseJson } from "./json_file.ts";
import { acquireLock } from "./lock.ts";
import { StateError } from "./state_error.ts";
import type { AttachmentKey, AttachmentRecord, DeviceOwner, Store } from "./store.ts";

/** Temp files of {@link ConfinedDir.replace}, left behind only by a crash. */
const TEMP_FILE = /\.tmp-\d+$/;
/** Lock and owner files, in case the run directory is the cache directory. */
const LOCK_FILE = /\.(lock|owner)$/;
/** Largest state file read: a record holds a config, at most {@link MAX_CONFIG_BYTES}. */
const MAX_FILE_BYTES = 2 * MAX_CONFIG_BYTES;

export interface FileStoreOptions {
  /** Attachment cache and allocation records; the Go plugin's cache directory by default. */
  cacheDir?: string;
  /** Lock files; on tmpfs, so a reboot clears them. */
  runDir?: string;
  /** Who takes our locks (e.g. the container ID), for another process's timeout message. */
  holder?: string;
  /**
   * Whether a netns path still exists, to tell a live allocation from a stale one. Probing
   * `/proc/<pid>/ns/net` is netlink's privilege, not the state store's: pass
   * `netnsPathExists` of `lib/netlink/netns.ts`. Without it every owner counts as alive, because
   * taking a device from a live pod is worse than refusing an ADD.
   */
  netnsExists?: (path: string) => boolean;
}

/** What {@link FileStore.scanAttachments} found. */
export interface AttachmentScan {
  records: AttachmentRecord[];
  /** One `StateError` (`corrupt` or `io`) per cache file that could not be read. */
  errors: StateError[];
}

/**
 * The {@linkcode Store} of the node, each file reached through its directory's
 * {@linkcode ConfinedDir}, opened on first use and closed when the store is disposed:
 * - `<cacheDir>/<containerId>-<ifname>`: the attachment record (the Go plugin's file at the same
 *   path is read too, so DEL after an upgrade works);
 * - `<cacheDir>/pci/<pci>`: the allocation record;
 * - `<runDir>/<name>.lock` and `<name>.owner`: locks and who holds them.
 */
export class FileStore implements Store, Disposable {
  readonly #cacheDir: string;
  readonly #runDir: string;
  readonly #holder: string | undefined;
  readonly #netnsExists: (path: string) => boolean;
  readonly #open = new Map<"cache" | "pci" | "run", ConfinedDir>();

  constructor(options: FileStoreOptions = {}) {
    this.#cacheDir = options.cacheDir ?? "/var/lib/cni/ib-sriov";
    this.#runDir = options.runDir ?? "/var/run/cni/ib-sriov";
    this.#holder = options.holder;
    this.#netnsExists = options.netnsExists ?? (() => true);
  }

  readAttachment(key: AttachmentKey): AttachmentRecord | null {
    const name = attachmentName(key);
    const text = this.#dir("cache", false)?.read(name, MAX_FILE_BYTES) ?? null;
    return text === null ? null : decodeAttachment(text, join(this.#cacheDir, name), key);
  }

  writeAttachment(record: AttachmentRecord, durability: Durability = "full"): void {
    const name = attachmentName(record);
    this.#dir("cache", true)!.replace(name, encodeAttachment(record), { durability });
  }

  /** Also removes the temp files of writes of the record that a killed process left. */
  removeAttachment(key: AttachmentKey): void {
    const name = attachmentName(key);
    const cache = this.#dir("cache", false);
    cache?.remove(name);
    cache?.removeTemps(name);
  }

  /** Files that cannot be read are skipped; {@link scanAttachments} returns them. */
  listAttachments(): AttachmentRecord[] {
    return this.scanAttachments().records;
  }

  /**
   * Reads every attachment record in the cache. Skipped without an error: anything but a regular
   * file (`pci/`), temp files of an interrupted write (`*.tmp-<pid>`), lock files and names
   * without a `-` (not `<containerId>-<ifname>`).
   *
   * @throws {StateError} `io` when the cache directory exists and cannot be listed
   */
  scanAttachments(): AttachmentScan {
    const scan: AttachmentScan = { records: [], errors: [] };
    const cache = this.#dir("cache", false);
    for (const name of cache?.list() ?? []) {
      if (TEMP_FILE.test(name) || LOCK_FILE.test(name) || !name.includes("-")) continue;
      try {
        const text = cache!.read(name, MAX_FILE_BYTES);
        // Removed by a concurrent DEL since the listing: nothing to collect.
        if (text !== null) {
          scan.records.push(decodeAttachment(text, join(this.#cacheDir, name), null));
        }
      } catch (err) {
        if (!(err instanceof StateError)) throw err;
        scan.errors.push(err);
      }
    }
    return scan;
  }

  deviceOwner(pci: string): DeviceOwner | null {
    const name = safeName(pci, "PCI address");
    return this.#owner(this.#dir("pci", false), name);
  }

  /**
   * Call it with the device's lock held.
   *
   * - no record, or a record of the same attachment: (re)written;
   * - a record of another attachment whose netns and attachment record still exist: refused;
   * - a record of another attachment whose netns is gone (its pod died without DEL) or whose
   *   attachment record is gone, or a corrupt record (we write atomically, so only a hand edit
   *   makes one): replaced.
   */
  claimDevice(pci: string, owner: DeviceOwner): void {
    const name = safeName(pci, "PCI address");
    const dir = this.#dir("pci", true)!;
    let current: DeviceOwner | null;
    try {
      current = this.#owner(dir, name);
    } catch (err) {
      if (!(err instanceof StateError && err.code === "corrupt")) throw err;
      current = null;
    }
    // A holder without its attachment record is stale too: a DEL of the Go plugin after a
    // rollback removes the record (its cache) and knows nothing of the allocation.
    if (
      current !== null && !sameAttachment(current, owner) && this.#netnsExists(current.netns) &&
      this.#dir("cache", true)!.read(attachmentName(current), MAX_FILE_BYTES) !== null
    ) {
      throw new StateError(
        "taken",
        `${dir.path}/${name}`,
        `device "${pci}" is already allocated to container "${current.containerId}" ` +
          `interface "${current.ifname}" (netns "${current.netns}")`,
      );
    }
    const record = { containerId: owner.containerId, ifname: owner.ifname, netns: owner.netns };
    dir.replace(name, JSON.stringify(record));
  }

  /**
   * Also removes the temp files of writes of the record that a killed process left. A record of
   * another attachment stays; so does a corrupt one (the next claim replaces it), so DEL never
   * fails on it. Call it with the device's lock held.
   */
  releaseDevice(pci: string, owner: AttachmentKey): void {
    const name = safeName(pci, "PCI address");
    const dir = this.#dir("pci", false);
    // Whoever holds the device, a temp file of its record is a killed writer's: we hold the lock.
    dir?.removeTemps(name);
    let current: DeviceOwner | null;
    try {
      current = this.#owner(dir, name);
    } catch (err) {
      if (err instanceof StateError && err.code === "corrupt") return;
      throw err;
    }
    if (current !== null && sameAttachment(current, owner)) dir?.remove(name);
  }

  /**
   * Takes `<runDir>/<name>.lock` (see `acquireLock`). Locks are per open file: taking the same
   * name twice in one process waits for the first to be released.
   */
  async lock(name: string, timeoutMs: number): Promise<Disposable> {
    safeName(name, "lock name");
    const lock = await acquireLock(this.#dir("run", true)!, name, timeoutMs, this.#holder);
    // Every change to the cache is made with a lock held: a cache directory that is a symbolic
    // link stops the command here, before anything is written or removed through it.
    try {
      this.#dir("cache", true);
    } catch (err) {
      lock[Symbol.dispose]();
      throw err;
    }
    return lock;
  }

  /**
   * Closes the directories; idempotent. Release the locks first: one released later leaves its
   * owner file behind.
   */
  [Symbol.dispose](): void {
    for (const dir of this.#open.values()) dir[Symbol.dispose]();
    this.#open.clear();
  }

  /**
   * The directory `which`, opened (and checked) on first use and kept until disposed, so a path
   * swapped later is never followed. Unless `create`, a missing one is `null` and is not kept: a
   * later write creates it.
   */
  #dir(which: "cache" | "pci" | "run", create: boolean): ConfinedDir | null {
    const open = (): ConfinedDir | null => {
      if (which === "pci") return this.#dir("cache", create)?.dir("pci", create) ?? null;
      const path = which === "cache" ? this.#cacheDir : this.#runDir;
      return ConfinedDir.open(path, create ? "parents" : undefined);
    };
    const dir = this.#open.get(which) ?? (create ? open() : ifExists(open));
    if (dir !== null) this.#open.set(which, dir);
    return dir;
  }

  #owner(dir: ConfinedDir | null, name: string): DeviceOwner | null {
    const text = dir?.read(name, MAX_FILE_BYTES) ?? null;
    const [path, what] = [`${this.#cacheDir}/pci/${name}`, "allocation record"];
    return text === null
      ? null
      : decodeState(parseJson(text, path, what), path, what, deviceOwnerSchema());
  }
}

/**
 * Checks that `name` can be one file name in a state directory. The plugin validates container
 * IDs, interface names and PCI addresses long before they reach here; this is the last line of
 * defence, so that no input can make us write outside the directory.
 *
 * @throws {StateError} code `invalid-name` when `name` is empty, `.` or `..`, or contains `/`
 *   or NUL
 */
function safeName(name: string, what: string): string {
  if (isFileName(name)) return name;
  throw new StateError(
    "invalid-name",
    name,
    `Invalid ${what} ${quote(name)}: cannot be used as a file name in the state directory`,
  );
}

function attachmentName(key: AttachmentKey): string {
  return `${safeName(key.containerId, "container ID")}-${safeName(key.ifname, "interface name")}`;
}

function sameAttachment(a: AttachmentKey, b: AttachmentKey): boolean {
  return a.containerId === b.containerId && a.ifname === b.ifname;
}
