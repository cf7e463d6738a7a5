/** Identifies one attachment: the CNI runtime never has two with the same pair. */
export interface AttachmentKey {
  containerId: string;
  ifname: string;
}

/**
 * Everything DEL, CHECK and GC need to undo or verify an ADD, written before the first kernel
 * change (phase `adding`) and rewritten once the ADD is complete (phase `attached`).
 */
export interface AttachmentRecord extends AttachmentKey {
  /** Format version of this record. */
  version: 1;
  phase: "adding" | "attached";
  netns: string;
  networkName: string;
  cniVersion: string;
  /** The VF's PCI address (`deviceID`). */
  deviceId: string;
  /**
   * What was attached: a VF's netdev (`vf`, the default for records without the field), a VF
   * bound to vfio-pci (`vfio-vf`: GUID only, no netdev) or a PF passed through (`vfio-pf`).
   */
  kind?: AttachmentKind;
  /** The VF's driver at ADD (`mlx5_core`), which a GUID restore rebinds. */
  driver?: string;
  /** The partition key of the network (`pkey`), for logs and operators; not applied here. */
  pkey?: string;
  /** The PF's netdev name and the VF index, when the device is a VF. */
  pfName?: string;
  vfIndex?: number;
  /** The VF netdev's name in the host before ADD: DEL gives it back. */
  hostIfName?: string;
  /** The VF netdev's link-layer address, to recognise it after its netns died. */
  hostIfAddress?: string;
  /** Whether the VF netdev was up in the host before ADD. */
  hostIfUp?: boolean;
  /** The name the netdev carries between the host and the pod (`vfdev<ifindex>`). */
  tempIfName?: string;
  /** `ipam.type`, when IPAM was requested. */
  ipamType?: string;
  /**
   * The VF settings ADD changes, as they were before: written before the change, restored on
   * DEL. A field is present only when ADD sets that setting.
   */
  original?: {
    nodeGuid?: string;
    portGuid?: string;
    linkState?: "auto" | "enable" | "disable";
  };
  /** RDMA device moved into the pod, when `rdmaIsolation`. */
  rdmaDevice?: string;
  /** The network config as given, for IPAM DEL/GC when the runtime's copy is not at hand. */
  config?: unknown;
}

/** See {@link AttachmentRecord.kind}. */
export type AttachmentKind = "vf" | "vfio-vf" | "vfio-pf";

/** Who holds a device: written in the allocation record. */
export interface DeviceOwner extends AttachmentKey {
  netns: string;
}

/**
 * The plugin's files: the attachment cache, per-device allocation records and locks.
 * The only code with write access to the filesystem.
 */
export interface Store {
  /** The record of an attachment, or `null`. Reads the Go plugin's cache format too. */
  readAttachment(key: AttachmentKey): AttachmentRecord | null;
  /** Writes the record atomically (temp file, fsync, rename). */
  writeAttachment(record: AttachmentRecord): void;
  /** Removes the record; no error when it is already gone. */
  removeAttachment(key: AttachmentKey): void;
  /** Every record in the cache (for GC). */
  listAttachments(): AttachmentRecord[];
  /** The current owner of a device, or `null`. */
  deviceOwner(pci: string): DeviceOwner | null;
  /**
   * Records `owner` as the holder of `pci`. Throws `CniError` when another attachment holds it
   * (unless that holder's netns is gone, when its record is stale and is replaced).
   */
  claimDevice(pci: string, owner: DeviceOwner): void;
  /** Removes the allocation record if `owner` holds it. */
  releaseDevice(pci: string, owner: AttachmentKey): void;
  /**
   * Takes an exclusive lock named `name` (a PCI address, or `node` for the node-wide lock),
   * waiting at most `timeoutMs`; throws `CniError` code 11 naming the holder on timeout.
   */
  lock(name: string, timeoutMs: number): Promise<Disposable>;
}
