/**
 * Binding PCI devices to drivers: the kernel change that makes a VF's driver re-read the GUIDs
 * set through its PF (mlx5 reads them only at probe), and that recreates the VF's netdev and
 * RDMA device in the process.
 */
export interface PciDriver {
  /**
   * Detaches `pci` from `driver` (writes the address to `/sys/bus/pci/drivers/<driver>/unbind`).
   * Its netdev and RDMA device are destroyed, in whichever namespace they are.
   */
  unbind(pci: string, driver: string): void;
  /**
   * Attaches `pci` to `driver` (writes the address to `/sys/bus/pci/drivers/<driver>/bind`).
   * The driver's probe runs in the write, but udev may rename the new netdev afterwards.
   */
  bind(pci: string, driver: string): void;
}
