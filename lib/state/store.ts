import type { AttachmentKey, AttachmentRecord, DeviceOwner } from "./attachment_record.ts";
import type { Durability } from "./confined_dir.ts";

export type {
  AttachmentKey,
  AttachmentKind,
  AttachmentRecord,
  DeviceOwner,
  NetdevVfRecord,
  OriginalVfSettings,
  RecordCommon,
  VfioVfRecord,
} from "./attachment_record.ts";

/**
 * The plugin's state files: the attachment cache, per-device allocation records and locks. Every
 * method throws `StateError`: code `invalid-name` for a name that is not one file name, `io` when
 * a file or directory breaks a rule or cannot be used, and the codes it names.
 */
export interface Store {
  /**
   * The record of an attachment, or `null`. Reads the Go plugin's cache format too; code
   * `corrupt` when the file is not a record.
   */
  readAttachment(key: AttachmentKey): AttachmentRecord | null;
  /** Writes the record atomically, with {@link Durability} `durability` (default `full`). */
  writeAttachment(record: AttachmentRecord, durability?: Durability): void;
  /** Removes the record; no error when it is already gone. */
  removeAttachment(key: AttachmentKey): void;
  /** Every record in the cache (for GC). */
  listAttachments(): AttachmentRecord[];
  /** The current owner of a device, or `null`; code `corrupt` for an unreadable record. */
  deviceOwner(pci: string): DeviceOwner | null;
  /**
   * Records `owner` as the holder of `pci`. Throws `StateError` code `taken` when another
   * attachment holds it (unless that holder's netns or attachment record is gone, when its
   * allocation is stale and is replaced).
   */
  claimDevice(pci: string, owner: DeviceOwner): void;
  /** Removes the allocation record if `owner` holds it. */
  releaseDevice(pci: string, owner: AttachmentKey): void;
  /**
   * Takes an exclusive lock named `name` (a PCI address, or `cni` for the node-wide lock),
   * waiting at most `timeoutMs`; throws `StateError` code `busy` naming the holder on timeout.
   */
  lock(name: string, timeoutMs: number): Promise<Disposable>;
}
