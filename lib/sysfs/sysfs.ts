/**
 * What the plugin reads from sysfs about a PCI device. Every path is relative to a root
 * (`/` in production, a fixture tree in tests); nothing here writes.
 */
export interface Sysfs {
  /** Whether `/sys/bus/pci/devices/<pci>` exists. */
  deviceExists(pci: string): boolean;
  /** For a VF, the PCI address its `physfn` link points at; `null` for a device that is no VF. */
  physfn(pci: string): string | null;
  /** The VF index of `vfPci` under the PF `pfPci` (the N of the PF's `virtfnN`), or `null`. */
  vfIndex(pfPci: string, vfPci: string): number | null;
  /** Names of the netdevs under `/sys/bus/pci/devices/<pci>/net/`, sorted; empty when none. */
  netdevs(pci: string): string[];
  /** Basename of the `driver` link, or `null` when the device is bound to no driver. */
  driver(pci: string): string | null;
  /** Names of the RDMA devices under `/sys/bus/pci/devices/<pci>/infiniband/`, sorted. */
  rdmaDevices(pci: string): string[];
  /** Contents of `infiniband/<dev>/node_guid` (`xxxx:xxxx:xxxx:xxxx`), or `null`. */
  rdmaNodeGuid(pci: string, rdmaDevice: string): string | null;
}
