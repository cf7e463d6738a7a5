import { quote } from "../cni/quote.ts";
import type { LinkInfo, Netns } from "../netlink/netlink.ts";
import type { NetdevVfRecord, VfioVfRecord } from "../state/store.ts";
import type { Deps } from "./deps.ts";
import { kernelError, kernelStep } from "./to_cni_error.ts";
import { restoreHostName } from "./vf_netdev.ts";

/** First and longest pause between looks for a VF's netdev. */
const FIRST_WAIT_MS = 5;
const MAX_WAIT_MS = 200;

/**
 * Finds the VF's netdev in the host by PCI address, waiting (bounded) for it to appear: after a
 * rebind its name and ifindex are new, and udev may rename it while we look, so the name is read
 * from sysfs and looked up at once, and both are read again if the lookup misses.
 *
 * @throws {CniError} code 101 when it has not appeared within `deps.netdevTimeoutMs`
 */
export async function waitForNetdev(deps: Deps, host: Netns, pci: string): Promise<LinkInfo> {
  let waited = 0;
  for (let pause = FIRST_WAIT_MS;; pause = Math.min(pause * 2, MAX_WAIT_MS)) {
    for (const name of deps.sysfs.netdevs(pci)) {
      const link = kernelStep(
        `Cannot look up the netdev ${quote(name)} of VF ${quote(pci)}`,
        () => deps.netlink.linkByName(host, name),
      );
      if (link !== null) return link;
    }
    if (waited >= deps.netdevTimeoutMs) break;
    await deps.sleep(pause);
    waited += pause;
  }
  throw kernelError(
    `VF ${quote(pci)} has no netdev in the host ${waited} ms after its driver was bound`,
    { details: "check dmesg for the driver's probe of the VF" },
  );
}

/**
 * Makes the VF's driver re-read the GUIDs set through its PF: mlx5 reads them only when it
 * probes the VF. The VF's netdev and RDMA device are destroyed and recreated, with new names;
 * the caller finds the netdev again ({@link waitForNetdev}). The caller holds the node lock.
 *
 * 1. Unbind, unless a previous attempt already did (then the device has no driver).
 * 2. Bind: the probe, and the new netdev, happen inside this write.
 *
 * @throws {CniError} code 101 naming the step, or when the driver is unknown
 */
export function rebindVf(
  deps: Deps,
  record: Pick<NetdevVfRecord | VfioVfRecord, "deviceId" | "driver">,
): void {
  const pci = record.deviceId;
  const bound = kernelStep(`Cannot read the driver of ${quote(pci)}`, () => deps.sysfs.driver(pci));
  // A record from before this field (or from the Go plugin) names no driver: the one bound now.
  const driver = record.driver ?? bound;
  if (driver === null) {
    throw kernelError(`Cannot rebind VF ${quote(pci)}: its driver is unknown`);
  }
  if (bound !== null) {
    kernelStep(
      `Cannot unbind VF ${quote(pci)} from ${quote(bound)}`,
      () => deps.pciDriver.unbind(pci, bound),
    );
  }
  kernelStep(
    `Cannot bind VF ${quote(pci)} to ${quote(driver)}`,
    () => deps.pciDriver.bind(pci, driver),
  );
}

/**
 * Gives a VF netdev that the kernel recreated (by a rebind, or by moving the VF's RDMA device
 * back to the host) its host name and administrative state from before ADD, as the record has
 * them: the kernel names a new IPoIB netdev `ibN`, down. A record without a host name (a vfio-pci
 * device) has nothing to rename.
 *
 * @throws {CniError} code 101 when it does not come back or cannot be renamed
 */
export async function restoreRecreatedNetdev(
  deps: Deps,
  host: Netns,
  record: Pick<NetdevVfRecord, "deviceId" | "hostIfName" | "hostIfUp">,
): Promise<void> {
  if (record.hostIfName === undefined) return;
  const link = await waitForNetdev(deps, host, record.deviceId);
  restoreHostName(deps.netlink, host, link, record.hostIfName, record.hostIfUp ?? false);
}
