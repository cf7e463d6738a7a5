/**
 * The NPWG device-info document (device-info spec v1.1.0, section 3) of a PCI device: the
 * fields ADD owns, merged into whatever the file already holds. Pure: no I/O.
 *
 * @module
 */

/** The spec version ADD writes: the one that defines `pf-pci-address`. */
export const DEVICE_INFO_VERSION = "1.1.0";

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

/** The merged document, and what of the old one could not be kept. */
export interface MergedDeviceInfo {
  /** The JSON text to write (compact, as Multus writes it). */
  text: string;
  /** Why part of the existing document was replaced (it was corrupt), or `null`. */
  discarded: string | null;
}

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The existing document as an object, or why it cannot be one. */
function parseExisting(text: string | null): { doc: JsonObject; discarded: string | null } {
  if (text === null) return { doc: {}, discarded: null };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { doc: {}, discarded: "the file was not JSON" };
  }
  if (!isObject(doc)) return { doc: {}, discarded: "the file was not a JSON object" };
  return { doc, discarded: null };
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
 * @param ours the device's fields
 * @returns the text to write and what was discarded
 */
export function mergeDeviceInfo(existing: string | null, ours: PciDeviceInfo): MergedDeviceInfo {
  const { doc, discarded: whole } = parseExisting(existing);
  let discarded = whole;
  let pci: JsonObject = {};
  if (isObject(doc.pci)) pci = { ...doc.pci };
  else if (doc.pci !== undefined) discarded = 'its "pci" field was not an object';
  pci["pci-address"] = ours.pciAddress;
  setOrRemove(pci, "pf-pci-address", ours.pfPciAddress);
  setOrRemove(pci, "rdma-device", ours.rdmaDevice);
  const merged: JsonObject = { type: "pci", version: DEVICE_INFO_VERSION, ...doc };
  merged.type = "pci";
  merged.version = DEVICE_INFO_VERSION;
  merged.pci = pci;
  return { text: JSON.stringify(merged), discarded };
}

function setOrRemove(o: JsonObject, key: string, value: string | undefined): void {
  if (value === undefined) delete o[key];
  else o[key] = value;
}
