import { quote } from "../cni/quote.ts";
import type { Sysfs } from "../sysfs/sysfs.ts";
import { deviceError, kernelStep } from "./to_cni_error.ts";

/** The driver that hands a device to a VM or a userspace program. */
export const VFIO_PCI = "vfio-pci";

/** A VF reached through its PF: what a netdev VF and a vfio-pci VF share. */
interface PfChild {
  pci: string;
  pfPci: string;
  /** The PF's netdev, through which VF settings are made. */
  pfName: string;
  vfIndex: number;
}

/** A VF bound to its InfiniBand driver, with an IPoIB netdev in the host. */
export interface NetdevVf extends PfChild {
  kind: "vf";
  netdev: string;
  driver: string;
}

/** A VF bound to vfio-pci: it gets its GUID, and the pod (a VM) gets the PCI device. */
export interface VfioVf extends PfChild {
  kind: "vfio-vf";
}

/** A PF bound to vfio-pci, passed through whole. */
export interface VfioPf {
  kind: "vfio-pf";
  pci: string;
}

/** What `deviceID` names. */
export type Device = NetdevVf | VfioVf | VfioPf;

/**
 * Finds the device named by `deviceID` and everything ADD needs about it. Unlike the Go plugin,
 * a device that does not exist is reported as such, not taken for a PF.
 *
 * @param vfioPciMode the config's `vfioPciMode`: the device must be bound to vfio-pci
 * @throws {CniError} code 100 naming `deviceID` and what is wrong with it
 */
export function resolveDevice(sysfs: Sysfs, pci: string, vfioPciMode: boolean): Device {
  return kernelStep(`Cannot read sysfs for deviceID ${quote(pci)}`, () => {
    // 1. The device exists, bound to vfio-pci when vfioPciMode asks for it.
    if (!sysfs.deviceExists(pci)) {
      throw deviceError(
        `deviceID ${quote(pci)}: no such PCI device (/sys/bus/pci/devices/${pci} does not exist)`,
        {
          details:
            "check the device plugin's resource and the node's SR-IOV configuration (sriov_numvfs)",
        },
      );
    }
    const driver = sysfs.driver(pci);
    const vfio = driver === VFIO_PCI;
    if (vfioPciMode && !vfio) {
      throw deviceError(
        `vfioPciMode is true but deviceID ${quote(pci)} is bound to ${
          driver === null ? "no driver" : quote(driver)
        }, not "vfio-pci"`,
        {
          details:
            "bind the device to vfio-pci (the device plugin's vfio resource), or remove vfioPciMode",
        },
      );
    }
    // 2. A device without a PF is a PF itself: only passthrough takes one.
    const pfPci = sysfs.physfn(pci);
    if (pfPci === null) {
      if (vfio) return { kind: "vfio-pf", pci };
      throw deviceError(
        `deviceID ${
          quote(pci)
        } is not an SR-IOV virtual function (it has no physfn) and is bound to ${
          driver === null ? "no driver" : quote(driver)
        }`,
        { details: "ib-sriov attaches VFs; a PF can only be passed through bound to vfio-pci" },
      );
    }
    // 3. A VF: its PF's netdev, through which its settings are made, and its index there.
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
    const parent = { pci, pfPci, pfName: pfNames[0]!, vfIndex };
    if (vfio) return { kind: "vfio-vf", ...parent };
    // 4. A netdev VF: its driver and its netdev in the host.
    const netdevs = sysfs.netdevs(pci);
    if (driver === null || netdevs.length === 0) {
      throw deviceError(
        `deviceID ${quote(pci)}: the VF has no netdev (driver ${
          driver === null ? "none" : quote(driver)
        })`,
        { details: "bind the VF to mlx5_core, or to vfio-pci for passthrough" },
      );
    }
    return { kind: "vf", ...parent, netdev: netdevs[0]!, driver };
  });
}
