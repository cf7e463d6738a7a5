import { errorMessage } from "../error_message.ts";
import { join } from "../path.ts";
import { decodeAttachment, encodeAttachment } from "./attachment_record.ts";
import { decodeDeviceOwner } from "./device_owner.ts";
import {
  type Durability,
  ensureDir,
  readIfExists,
  removeIfExists,
  removeTempFiles,
  writeFileAtomic,
} from "./files.ts";
import { acquireLock } from "./lock.ts";
import { assertSafeName } from "./safe_name.ts";
import { StateError } from "./state_error.ts";
import type { AttachmentKey, AttachmentRecord, DeviceOwner, Store } from "./store.ts";

/** Temp files of {@link writeFileAtomic}, left behind only by a crash. */
const TEMP_FILE = /\.tmp-\d+$/;
/** Lock and owner files, in case the run directory is the cache directory. */
const LOCK_FILE = /\.(lock|owner)$/;

/** Options of {@link FileStore}. */
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
  /** Every record that could be read. */
  records: AttachmentRecord[];
  /** One `StateError` (`corrupt` or `io`) per cache file that could not be read. */
  errors: StateError[];
}

/**
 * The plugin's files on the node:
 * - `<cacheDir>/<containerId>-<ifname>`: the attachment record (JSON {@link AttachmentRecord};
 *   the Go plugin's file at the same path is read too, so DEL after an upgrade works);
 * - `<cacheDir>/pci/<pci>`: the allocation record (JSON {@link DeviceOwner});
 * - `<runDir>/<name>.lock` and `<name>.owner`: locks and who holds them.
 *
 * Writes are atomic (temp file, fsync, rename, fsync of the directory); directories are 0700 and
 * files 0600. Every name is checked to stay inside its directory.
 *
 * Errors: a corrupt attachment record makes {@link readAttachment} throw `StateError` code
 * `corrupt`, so the caller decides (DEL logs it and succeeds; ADD refuses). {@link
 * listAttachments} skips unreadable files; {@link scanAttachments} also returns their errors.
 *
 * @example
 * ```ts
 * import { FileStore } from "./file_store.ts";
 * const store = new FileStore({ cacheDir: await Deno.makeTempDir(), runDir: await Deno.makeTempDir() });
 * {
 *   using _lock = await store.lock("node", 1000);
 *   store.readAttachment({ containerId: "c1", ifname: "net1" }); // null
 * }
 * ```
 */
export class FileStore implements Store {
  readonly #cacheDir: string;
  readonly #pciDir: string;
  readonly #runDir: string;
  readonly #holder: string | undefined;
  readonly #netnsExists: (path: string) => boolean;

  /** @param options the directories, our lock holder name and the netns check */
  constructor(options: FileStoreOptions = {}) {
    this.#cacheDir = options.cacheDir ?? "/var/lib/cni/ib-sriov";
    this.#pciDir = join(this.#cacheDir, "pci");
    this.#runDir = options.runDir ?? "/var/run/cni/ib-sriov";
    this.#holder = options.holder;
    this.#netnsExists = options.netnsExists ?? (() => true);
  }

  /**
   * Reads the record of an attachment, in our format or the Go plugin's.
   *
   * @param key the container ID and interface name
   * @returns the record, or `null` when there is none
   * @throws {StateError} `invalid-name` for an unsafe key, `corrupt` when the file is not a
   *   record, `io` when it cannot be read
   */
  readAttachment(key: AttachmentKey): AttachmentRecord | null {
    const path = this.#attachmentPath(key);
    const text = readIfExists(path);
    return text === null ? null : decodeAttachment(text, path, key);
  }

  /**
   * Writes the record atomically, replacing any earlier one for the same attachment.
   *
   * @param record the record
   * @param durability what must survive a power cut (see `writeFileAtomic`); default `full`
   * @throws {StateError} `invalid-name` for an unsafe key, `io` when it cannot be written
   */
  writeAttachment(record: AttachmentRecord, durability: Durability = "full"): void {
    const path = this.#attachmentPath(record);
    ensureDir(this.#cacheDir);
    writeFileAtomic(path, encodeAttachment(record), { durability });
  }

  /**
   * Removes the record of an attachment, and the temp files of writes of it that a killed
   * process left; a missing record is not an error. Call it with the device's lock held.
   *
   * @param key the container ID and interface name
   * @throws {StateError} `invalid-name` for an unsafe key, `io` when it cannot be removed
   */
  removeAttachment(key: AttachmentKey): void {
    const path = this.#attachmentPath(key);
    removeIfExists(path);
    removeTempFiles(path);
  }

  /**
   * Every record in the cache that can be read, for GC. Files that cannot be read are skipped;
   * use {@link scanAttachments} to see them.
   *
   * @returns the records, in no particular order
   * @throws {StateError} `io` when the cache directory exists and cannot be listed
   */
  listAttachments(): AttachmentRecord[] {
    return this.scanAttachments().records;
  }

  /**
   * Reads every attachment record in the cache. Skipped without an error: directories (`pci/`),
   * temp files of an interrupted write (`*.tmp-<pid>`), lock files and names without a `-`
   * (not `<containerId>-<ifname>`).
   *
   * @returns the readable records and one error per unreadable file
   * @throws {StateError} `io` when the cache directory exists and cannot be listed
   */
  scanAttachments(): AttachmentScan {
    const scan: AttachmentScan = { records: [], errors: [] };
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(this.#cacheDir)];
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return scan;
      throw new StateError(
        "io",
        this.#cacheDir,
        `Cannot list cache directory "${this.#cacheDir}": ${errorMessage(err)}`,
        { cause: err },
      );
    }
    for (const entry of entries) {
      const name = entry.name;
      if (!entry.isFile || TEMP_FILE.test(name) || LOCK_FILE.test(name) || !name.includes("-")) {
        continue;
      }
      const path = join(this.#cacheDir, name);
      try {
        const text = readIfExists(path);
        // Removed by a concurrent DEL since the listing: nothing to collect.
        if (text !== null) scan.records.push(decodeAttachment(text, path, null));
      } catch (err) {
        if (!(err instanceof StateError)) throw err;
        scan.errors.push(err);
      }
    }
    return scan;
  }

  /**
   * Who holds a device.
   *
   * @param pci the device's PCI address
   * @returns the owner, or `null` when the device is free
   * @throws {StateError} `invalid-name`, `corrupt` or `io`
   */
  deviceOwner(pci: string): DeviceOwner | null {
    const path = this.#pciPath(pci);
    const text = readIfExists(path);
    return text === null ? null : decodeDeviceOwner(text, path);
  }

  /**
   * Records `owner` as the holder of `pci`. Call it with the device's lock held.
   *
   * - no record, or a record of the same attachment: (re)written;
   * - a record of another attachment whose netns and attachment record still exist: refused;
   * - a record of another attachment whose netns is gone (its pod died without DEL) or whose
   *   attachment record is gone, or a corrupt record (we write atomically, so only a hand edit
   *   makes one): replaced.
   *
   * @param pci the device's PCI address
   * @param owner the attachment taking it
   * @throws {StateError} `taken` when another live attachment holds the device, `invalid-name`
   *   or `io`
   */
  claimDevice(pci: string, owner: DeviceOwner): void {
    const path = this.#pciPath(pci);
    let current: DeviceOwner | null;
    try {
      current = this.deviceOwner(pci);
    } catch (err) {
      if (!(err instanceof StateError && err.code === "corrupt")) throw err;
      current = null;
    }
    // A holder without its attachment record is stale too: a DEL of the Go plugin after a
    // rollback removes the record (its cache) and knows nothing of the allocation.
    if (
      current !== null && !sameAttachment(current, owner) && this.#netnsExists(current.netns) &&
      readIfExists(this.#attachmentPath(current)) !== null
    ) {
      throw new StateError(
        "taken",
        path,
        `device "${pci}" is already allocated to container "${current.containerId}" ` +
          `interface "${current.ifname}" (netns "${current.netns}")`,
      );
    }
    ensureDir(this.#pciDir);
    const record: DeviceOwner = {
      containerId: owner.containerId,
      ifname: owner.ifname,
      netns: owner.netns,
    };
    writeFileAtomic(path, JSON.stringify(record));
  }

  /**
   * Removes the allocation record of `pci` if `owner` holds it, and the temp files of writes of
   * it that a killed process left. A record of another attachment stays; so does a corrupt one
   * (the next claim replaces it), so DEL never fails on it. Call it with the device's lock held.
   *
   * @param pci the device's PCI address
   * @param owner the attachment giving it up
   * @throws {StateError} `invalid-name` or `io`
   */
  releaseDevice(pci: string, owner: AttachmentKey): void {
    const path = this.#pciPath(pci);
    // Whoever holds the device, a temp file of its record is a killed writer's: we hold the lock.
    removeTempFiles(path);
    let current: DeviceOwner | null;
    try {
      current = this.deviceOwner(pci);
    } catch (err) {
      if (err instanceof StateError && err.code === "corrupt") return;
      throw err;
    }
    if (current !== null && sameAttachment(current, owner)) removeIfExists(path);
  }

  /**
   * Takes the exclusive lock `<runDir>/<name>.lock` (see `acquireLock`). Locks are per open
   * file: taking the same name twice in one process waits for the first to be released.
   *
   * @param name a PCI address, or `node` for the node-wide lock
   * @param timeoutMs how long to wait
   * @returns the held lock; dispose it to release
   * @throws {StateError} `busy` on timeout, naming the holder's PID and holder name;
   *   `invalid-name` or `io`
   */
  async lock(name: string, timeoutMs: number): Promise<Disposable> {
    const options = this.#holder === undefined ? { timeoutMs } : {
      timeoutMs,
      holder: this.#holder,
    };
    const lock = await acquireLock(this.#runDir, name, options);
    // Every change to the cache is made with a lock held: a cache directory swapped for a
    // symbolic link stops the command here, before anything is written or removed through it.
    try {
      ensureDir(this.#cacheDir);
    } catch (err) {
      lock[Symbol.dispose]();
      throw err;
    }
    return lock;
  }

  #attachmentPath(key: AttachmentKey): string {
    assertSafeName(key.containerId, "container ID");
    assertSafeName(key.ifname, "interface name");
    return join(this.#cacheDir, `${key.containerId}-${key.ifname}`);
  }

  #pciPath(pci: string): string {
    assertSafeName(pci, "PCI address");
    return join(this.#pciDir, pci);
  }
}

function sameAttachment(a: AttachmentKey, b: AttachmentKey): boolean {
  return a.containerId === b.containerId && a.ifname === b.ifname;
}
