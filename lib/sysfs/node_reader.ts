/**
 * The node-wide reads `doctor` needs beyond the per-device `Sysfs` interface: the kernel
 * release and a scan of the PCI devices for SR-IOV PFs. Paths are relative to a root, as for
 * `LibcSysfs`, so a recorded tree can stand in for the node.
 */
export interface NodeReader {
  /** `proc/sys/kernel/osrelease`, trimmed (`"6.1.0-18-amd64"`); `null` when absent. */
  kernelRelease(): string | null;
  /** The addresses under `sys/bus/pci/devices/`, sorted; empty when there is no such directory. */
  pciDevices(): string[];
  /** The device's `sriov_numvfs`; `null` when the device has no SR-IOV capability. */
  sriovNumVfs(pci: string): number | null;
  /** The PCI address the PF's `virtfn<index>` link points at, or `null`. */
  virtfn(pfPci: string, index: number): string | null;
}
