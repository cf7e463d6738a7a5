/**
 * The recorded ConnectX-6 tree (one PF, four VFs) with what the tool's tests need on top:
 * - VF `0000:3b:00.3` (index 2) with an all-zero node GUID, as before any GUID is set;
 * - VF `0000:3b:00.4` (index 3) bound to vfio-pci: no netdev, no RDMA device;
 * - PF `0000:5e:00.0` bound to vfio-pci, passed through whole;
 * - `proc/sys/kernel/osrelease`.
 *
 * @module
 */
import type { SysfsNodeSpec, SysfsTree } from "../../fakes/sysfs_tree.ts";
import { buildSysfsTree } from "../../fakes/sysfs_tree.ts";
import { connectx6Fixture } from "../../fixtures/sysfs/connectx6.ts";

/** The addresses of the tree. */
export const NODE = {
  pf: "0000:3b:00.0",
  vf: "0000:3b:00.2",
  zeroGuidVf: "0000:3b:00.3",
  vfioVf: "0000:3b:00.4",
  vfioPf: "0000:5e:00.0",
};

/**
 * Writes the tree to a temp dir.
 *
 * @param osrelease the kernel release to record, or `null` for none
 * @returns the tree; `cleanup()` removes it
 */
export function buildNodeTree(osrelease: string | null = "6.1.0-18-amd64"): Promise<SysfsTree> {
  const { spec, pfs } = connectx6Fixture({ vfs: 4 });
  const devices: Record<string, SysfsNodeSpec> = { ...spec.devices };
  const zero = pfs[0]!.vfs[2]!;
  devices[zero.pci] = {
    ...devices[zero.pci],
    files: {
      ...devices[zero.pci]!.files,
      [`infiniband/${zero.rdmaDevice}/node_guid`]: "0000:0000:0000:0000\n",
    },
  };
  devices[NODE.vfioVf] = {
    files: { vendor: "0x15b3\n", device: "0x101c\n" },
    links: { physfn: `../${NODE.pf}`, driver: "../../drivers/vfio-pci" },
  };
  devices[NODE.vfioPf] = {
    files: { vendor: "0x15b3\n", device: "0x101b\n", sriov_numvfs: "0\n" },
    links: { driver: "../../drivers/vfio-pci" },
  };
  return buildSysfsTree({
    devices,
    other: {
      dirs: ["sys/bus/pci/drivers/mlx5_core", "sys/bus/pci/drivers/vfio-pci"],
      files: osrelease === null ? {} : { "proc/sys/kernel/osrelease": `${osrelease}\n` },
    },
  });
}
