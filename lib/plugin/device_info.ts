/**
 * The NPWG device-info file of an ADD (`runtimeConfig.CNIDeviceInfoFile`). Multus copies the
 * device plugin's document there before ADD and publishes the file in the pod's
 * `k8s.v1.cni.cncf.io/network-status` annotation after it; RDMA workloads read `rdma-device`
 * from there. A GUID change rebinds the VF, and the rebind gives its RDMA device a new `mlx5_N`
 * name, so ADD writes the names the device has once it is attached.
 *
 * @module
 */
import { quote } from "../cni/quote.ts";
import type { NetConf } from "../config/load_net_conf.ts";
import { DEVICE_INFO_DIR } from "../config/limits.ts";
import type { Logger } from "../log.ts";
import { mergeDeviceInfo, type PciDeviceInfo } from "../state/device_info.ts";
import { PATH_RULES, StateError } from "../state/state_error.ts";
import type { AttachmentRecord } from "../state/store.ts";
import type { Deps } from "./deps.ts";
import { configError, kernelStep } from "./to_cni_error.ts";
import type { Device } from "./resolve_device.ts";
import type { Rollback } from "./rollback.ts";

/** The device-info file as ADD found it. */
export interface DeviceInfoBefore {
  /** `runtimeConfig.CNIDeviceInfoFile`. */
  path: string;
  /** Its text before ADD, or `null` when there was no file. */
  text: string | null;
}

/** A path rule broken is the config's fault (7); anything else stays a state error (103). */
function refusal(path: string, err: unknown): unknown {
  if (!(err instanceof StateError) || !PATH_RULES.has(err.rule ?? "io")) return err;
  return configError(
    `runtimeConfig.CNIDeviceInfoFile ${quote(path)} is refused: ${err.reason}`,
    {
      details: `it must be a regular file directly in ${DEVICE_INFO_DIR}, ` +
        "with no symbolic link on its path",
      cause: err,
    },
  );
}

/**
 * Reads the device-info file before the first kernel change (`null` when the config names none):
 * the document to merge into, the text an undo puts back, and the check of its path, so that a
 * path that breaks a rule is refused while nothing has changed.
 *
 * @throws {CniError} code 7 naming the rule the path breaks
 * @throws {StateError} when the file cannot be read (the caller gives it code 103)
 */
export function readDeviceInfo(deps: Deps, conf: NetConf): DeviceInfoBefore | null {
  const path = conf.deviceInfoFile;
  if (path === undefined) return null;
  try {
    return { path, text: deps.deviceInfo.read(path) };
  } catch (err) {
    throw refusal(path, err);
  }
}

/**
 * What the device-info file must say of an attached device: its PCI address, its PF's and the
 * name its RDMA device has now. After RDMA isolation that is the name moved into the pod (a
 * move keeps it; the host's sysfs no longer shows it); otherwise the host's sysfs is read
 * again, after the last step that could rename it.
 *
 * @throws {CniError} code 101 when sysfs cannot be read
 */
export function attachedDeviceInfo(
  deps: Deps,
  device: Device,
  record: AttachmentRecord,
): PciDeviceInfo {
  const info: PciDeviceInfo = { pciAddress: device.pci };
  if (device.kind !== "vfio-pf") info.pfPciAddress = device.pfPci;
  if (device.kind !== "vf") return info;
  if (record.kind === "vf" && record.rdmaDevice !== undefined) {
    info.rdmaDevice = record.rdmaDevice;
    return info;
  }
  const rdma = kernelStep(
    `Cannot list the RDMA devices of ${quote(device.pci)}`,
    () => deps.sysfs.rdmaDevices(device.pci),
  );
  // An mlx5 VF has exactly one; with none (mlx5_ib not loaded) or several, no name is right.
  if (rdma.length === 1) info.rdmaDevice = rdma[0]!;
  return info;
}

/**
 * Writes the device's fields into the device-info file as {@link readDeviceInfo} found it,
 * keeping every field it does not own, and pushes the undo that puts back what was there before
 * ADD (the old text, or no file). A document that could not be kept whole (corrupt) is replaced
 * where it is corrupt, with a warning naming the file.
 *
 * @throws {CniError} code 7 when the path breaks a rule (it was replaced since the read)
 * @throws {StateError} when the file cannot be written (the caller gives it code 103)
 */
export function writeDeviceInfo(
  deps: Deps,
  before: DeviceInfoBefore,
  info: PciDeviceInfo,
  ctx: { log: Logger; rollback: Rollback },
): void {
  const { path, text: old } = before;
  const merged = mergeDeviceInfo(old, info);
  if (merged.discarded !== null) {
    ctx.log.warning("device-info file replaced where it was corrupt", {
      file: path,
      reason: merged.discarded,
    });
  }
  try {
    deps.deviceInfo.write(path, merged.text);
  } catch (err) {
    throw refusal(path, err);
  }
  ctx.rollback.push(`restore the device-info file ${quote(path)}`, () => {
    if (old === null) deps.deviceInfo.remove(path);
    else deps.deviceInfo.write(path, old);
  });
}
