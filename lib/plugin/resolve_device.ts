import { CniError, CniErrorCode } from "../cni/errors.ts";
import { quote } from "../cni/quote.ts";
import type { Sysfs } from "../sysfs/sysfs.ts";
import { kernelStep } from "./kernel_step.ts";

/** A VF as sysfs describes it. */
export interface VfDevice {
  pci: string;
  pfPci: string;
  /** The PF's netdev, through which VF settings are made. */
  pfName: string;
  vfIndex: number;
  /** The VF's netdev in the host. */
  netdev: string;
  driver: string | null;
  rdmaDevices: string[];
}

function deviceError(msg: string, details = ""): CniError {
  return new CniError(CniErrorCode.DeviceError, msg, { details });
}

/**
 * Finds the VF named by `deviceID` and everything ADD needs about it. Unlike the Go plugin, a
 * device that does not exist is reported as such, not taken for a PF.
 *
 * @param sysfs the sysfs reader
 * @param pci the validated PCI address
 * @returns the VF
 * @throws {CniError} code 100 naming `deviceID` and what is wrong with it
 */
export function resolveVf(sysfs: Sysfs, pci: string): VfDevice {
  return kernelStep(`Cannot read sysfs for deviceID ${quote(pci)}`, () => {
    if (!sysfs.deviceExists(pci)) {
      throw deviceError(
        `deviceID ${quote(pci)}: no such PCI device (/sys/bus/pci/devices/${pci} does not exist)`,
        "check the device plugin's resource and the node's SR-IOV configuration (sriov_numvfs)",
      );
    }
    const pfPci = sysfs.physfn(pci);
    if (pfPci === null) {
      throw deviceError(
        `deviceID ${quote(pci)} is not an SR-IOV virtual function (it has no physfn)`,
        "ib-sriov attaches VFs; a PF needs vfioPciMode with the device bound to vfio-pci",
      );
    }
    const pfNames = sysfs.netdevs(pfPci);
    if (pfNames.length === 0) {
      throw deviceError(`deviceID ${quote(pci)}: its PF ${quote(pfPci)} has no netdev`);
    }
    const vfIndex = sysfs.vfIndex(pfPci, pci);
    if (vfIndex === null) {
      throw deviceError(
        `deviceID ${quote(pci)}: not found among the virtfnN links of PF ${quote(pfPci)}`,
      );
    }
    const driver = sysfs.driver(pci);
    const netdevs = sysfs.netdevs(pci);
    if (netdevs.length === 0) {
      throw deviceError(
        `deviceID ${quote(pci)}: the VF has no netdev (driver ${
          driver === null ? "none" : quote(driver)
        })`,
        "bind the VF to mlx5_core, or set vfioPciMode for a VF bound to vfio-pci",
      );
    }
    return {
      pci,
      pfPci,
      pfName: pfNames[0]!,
      vfIndex,
      netdev: netdevs[0]!,
      driver,
      rdmaDevices: sysfs.rdmaDevices(pci),
    };
  });
}
