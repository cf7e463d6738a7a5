/**
 * The NPWG device-info document (device-info spec v1.1.0, section 3) of a PCI device, and the
 * files that hold it. The path comes from the runtime's `runtimeConfig`, and a NAD author can
 * write a static one, so each file is reached through the directory's {@linkcode ConfinedDir}.
 *
 * @module
 */
import { DEVICE_INFO_DIR } from "../config/limits.ts";
import { ConfinedDir, ifExists } from "./confined_dir.ts";
import { isRecord } from "../is_record.ts";
import { pathError } from "./state_error.ts";

/** The spec version ADD writes: the one that defines `pf-pci-address`. */
export const DEVICE_INFO_VERSION = "1.1.0";
/** {@link DEVICE_INFO_DIR} without its trailing `/`: the directory the files are opened beneath. */
export const DEVICE_INFO_ROOT = DEVICE_INFO_DIR.slice(0, -1);
/** Mode of a device-info file: Multus writes them 0444, and the pod's readers only read. */
const DEVICE_INFO_MODE = 0o444;
/** Largest device-info file read: a document of a few fields; a bigger one is not ours to merge. */
const MAX_DEVICE_INFO_BYTES = 64 * 1024;

/** What ADD knows of the device once it is attached; these fields are ours. */
export interface PciDeviceInfo {
  /** The device's PCI address (`pci.pci-address`). */
  pciAddress: string;
  /** Its PF's PCI address (`pci.pf-pci-address`); absent for a PF, and then removed. */
  pfPciAddress?: string;
  /**
   * Its RDMA device as named after the last step of ADD (`pci.rdma-device`); absent when it
   * has none (vfio-pci), and then removed: a stale name is worse than none.
   */
  rdmaDevice?: string;
}

/**
 * Merges ADD's fields into an existing device-info document. `type` becomes `pci`, `version`
 * {@link DEVICE_INFO_VERSION}, and `pci`'s `pci-address`, `pf-pci-address` and `rdma-device`
 * ours; every other field, at the top or in `pci` (`vhost-net`, `representor-device`, a field
 * of a later spec), stays as it was. A corrupt document (not JSON, not an object, a `pci` that
 * is not an object) is replaced where it is corrupt: Multus could not have published it anyway,
 * and the pod needs the device's real names.
 *
 * @param existing the file's text, or `null` when there is no file
 * @returns the JSON text to write (compact, as Multus writes it), and why part of the existing
 *   document was replaced, or `null`
 */
export function mergeDeviceInfo(
  existing: string | null,
  ours: PciDeviceInfo,
): { text: string; discarded: string | null } {
  let doc: unknown = {};
  let discarded: string | null = null;
  try {
    if (existing !== null) doc = JSON.parse(existing);
  } catch {
    discarded = "the file was not JSON";
  }
  if (!isRecord(doc)) {
    discarded ??= "the file was not a JSON object";
    doc = {};
  }
  const old = doc as Record<string, unknown>;
  let pci: Record<string, unknown> = {};
  if (isRecord(old.pci)) pci = { ...old.pci };
  else if (old.pci !== undefined) discarded = 'its "pci" field was not an object';
  pci["pci-address"] = ours.pciAddress;
  setOrRemove(pci, "pf-pci-address", ours.pfPciAddress);
  setOrRemove(pci, "rdma-device", ours.rdmaDevice);
  const merged = { type: "pci", version: DEVICE_INFO_VERSION, ...old };
  merged.type = "pci";
  merged.version = DEVICE_INFO_VERSION;
  return { text: JSON.stringify({ ...merged, pci }), discarded };
}

function setOrRemove(o: Record<string, unknown>, key: string, value: string | undefined): void {
  if (value === undefined) delete o[key];
  else o[key] = value;
}

/**
 * The device-info files of one directory (`/var/run/k8s.cni.cncf.io/devinfo/cni/` on a node),
 * each named by the path the runtime passes in `runtimeConfig.CNIDeviceInfoFile`. A path must
 * be a file directly in that directory (what the validator's rule 25 accepts), reached without a
 * symbolic link at any component, and a regular file with one link when it exists; each method
 * refuses any other with a `StateError` naming the rule, before it reads or writes anything.
 */
export interface DeviceInfoStore {
  /** The file's text, or `null` when there is none (or no directory). */
  read(path: string): string | null;
  /**
   * Replaces the file (or creates it) with `text`, mode 0444 as Multus writes it: a temp file
   * renamed over it, so that a reader sees the old document or the new one. A missing directory
   * is created (0700), as the device-info spec has a CNI plugin do.
   */
  write(path: string, text: string): void;
  /**
   * Removes the file; a missing one is no error. Only the undo of an ADD that created it calls
   * this: a device-info file that was there before ADD is Multus's, which removes it on DEL.
   */
  remove(path: string): void;
}

/**
 * The {@linkcode DeviceInfoStore} of the node. Its directory must be owned by root and not
 * writable by group or others, as Multus creates it.
 */
export class DeviceInfoFiles implements DeviceInfoStore {
  constructor(readonly root: string = DEVICE_INFO_ROOT) {}

  read(path: string): string | null {
    const name = this.#name(path, "read");
    using dir = ifExists(() => ConfinedDir.open(this.root));
    return dir?.read(name, MAX_DEVICE_INFO_BYTES) ?? null;
  }

  write(path: string, text: string): void {
    const name = this.#name(path, "write");
    using dir = ConfinedDir.open(this.root, "dir");
    dir.replace(name, text, { mode: DEVICE_INFO_MODE });
  }

  remove(path: string): void {
    const name = this.#name(path, "remove");
    using dir = ifExists(() => ConfinedDir.open(this.root));
    dir?.remove(name);
  }

  /**
   * The name of `path` in the directory. The validator has held the name to one component;
   * this refuses a path outside the directory, and the directory's handle anything else.
   */
  #name(path: string, verb: string): string {
    if (path.startsWith(DEVICE_INFO_DIR)) return path.slice(DEVICE_INFO_DIR.length);
    throw pathError("name", path, verb, `it is not in ${DEVICE_INFO_DIR}`);
  }
}
