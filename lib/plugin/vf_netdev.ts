import { quote } from "../cni/quote.ts";
import type { LinkInfo, Netlink, Netns } from "../netlink/netlink.ts";
import type { NetdevVfRecord } from "../state/store.ts";
import type { Sysfs } from "../sysfs/sysfs.ts";
import { kernelError, kernelStep } from "./to_cni_error.ts";
import { netnsName } from "./pod_netns.ts";
import type { Rollback } from "./rollback.ts";

/** Where a VF netdev goes and under which names: its name in the host now, and `CNI_IFNAME`. */
export interface NetdevMove {
  host: Netns;
  pod: Netns;
  hostIfName: string;
  podIfName: string;
}

/**
 * The temporary name of a VF netdev, under which DEL brings it back to the host: from its host
 * ifindex, so it is unique in the host, and short enough for IFNAMSIZ.
 */
export function tempIfName(ifindex: number): string {
  return `vfdev${ifindex}`;
}

function lookup(netlink: Netlink, ns: Netns, name: string): LinkInfo | null {
  return kernelStep(
    `Cannot look up link ${quote(name)} in ${netnsName(ns)}`,
    () => netlink.linkByName(ns, name),
  );
}

function mustFind(netlink: Netlink, ns: Netns, name: string): LinkInfo {
  const link = lookup(netlink, ns, name);
  if (link === null) {
    throw kernelError(`link ${quote(name)} not found in ${netnsName(ns)}`);
  }
  return link;
}

function setDown(netlink: Netlink, ns: Netns, link: LinkInfo): void {
  if (!link.up) return;
  kernelStep(
    `Cannot set link ${quote(link.name)} down in ${netnsName(ns)}`,
    () => netlink.setLinkUp(ns, link.index, false),
  );
}

function rename(netlink: Netlink, ns: Netns, index: number, from: string, to: string): void {
  kernelStep(
    `Cannot rename link ${quote(from)} to ${quote(to)} in ${netnsName(ns)}`,
    () => netlink.renameLink(ns, index, to),
  );
}

function move(
  netlink: Netlink,
  from: Netns,
  index: number,
  name: string,
  to: Netns,
  as: string,
): void {
  kernelStep(
    `Cannot move link ${quote(name)} from ${netnsName(from)} to ${netnsName(to)} as ${quote(as)}`,
    () => netlink.moveLink(from, index, to, as),
  );
}

/** The link in `ns` under the first of `names` that has one (with `address`, when given). */
function findFirst(
  netlink: Netlink,
  ns: Netns,
  names: string[],
  address?: string,
): LinkInfo | undefined {
  return names.map((n) => lookup(netlink, ns, n))
    .find((l) => l !== null && (address === undefined || l.address === address)) ?? undefined;
}

/** Whether a link in `ns` has `name` as its name or an altname. */
function inUse(netlink: Netlink, ns: Netns, name: string): boolean {
  return lookup(netlink, ns, name) !== null;
}

/**
 * Moves the VF netdev from the host into the pod under `CNI_IFNAME`, pushing the undo of every
 * step. The link is looked up again after the namespace move because its ifindex may change.
 *
 * NOTE: one request moves and renames the link (`LibnlNetlink.moveLink`), so the link is never
 * renamed in the host: it needs no temporary name there (the kernel applies the new name in the
 * pod, so `CNI_IFNAME` taken in the host does not matter, and when the pod holds the host name
 * the kernel moves the link under `CNI_IFNAME` directly), and no down first (only a rename of an
 * up link needs one before kernel 6.2; the move itself takes the link down on every kernel).
 *
 * @returns the link as it is in the pod, down, with no address yet
 * @throws {CniError} code 101 naming the step, the link and the namespace
 */
export function moveNetdevIntoPod(netlink: Netlink, m: NetdevMove, rollback: Rollback): LinkInfo {
  const link = mustFind(netlink, m.host, m.hostIfName);
  // 1. The kernel refuses to move a link whose altname is taken in the target, and to rename a
  //    link to one of its own altnames: those altnames go (DEL and the rollback put them back,
  //    see restoreLinkProperties).
  for (const alt of link.altNames.filter((a) => a === m.podIfName || inUse(netlink, m.pod, a))) {
    kernelStep(
      `Cannot remove altname ${quote(alt)} of link ${quote(m.hostIfName)} in ${netnsName(m.host)}`,
      () => netlink.deleteAltName(m.host, link.index, alt),
    );
  }
  // 2. Into the pod as CNI_IFNAME. The undo goes first: a clash of CNI_IFNAME in the pod fails
  //    the request with the link moved under its host name (see LibnlNetlink.moveLink). The
  //    undo brings it back under its host name, in the administrative state it had; a link with
  //    another address under either name is a stranger's (the move failed before moving).
  rollback.push(`move ${m.podIfName} back to the host as ${m.hostIfName}`, () => {
    const inPod = findFirst(netlink, m.pod, [m.podIfName, m.hostIfName], link.address);
    if (inPod === undefined) return;
    move(netlink, m.pod, inPod.index, inPod.name, m.host, m.hostIfName);
    if (!link.up) return;
    const back = mustFind(netlink, m.host, m.hostIfName);
    netlink.setLinkUp(m.host, back.index, true);
  });
  move(netlink, m.host, link.index, m.hostIfName, m.pod, m.podIfName);
  return mustFind(netlink, m.pod, m.podIfName);
}

/**
 * Whether a host link is the VF of `record`: sysfs lists it under the VF's PCI device, or it
 * carries the VF's recorded address. Guards DEL against renaming a stranger that happens to
 * have the pod's interface name.
 */
function isOurVf(sysfs: Sysfs, record: NetdevVfRecord, link: LinkInfo): boolean {
  if (record.hostIfAddress !== undefined && link.address === record.hostIfAddress) return true;
  return sysfs.netdevs(record.deviceId).includes(link.name);
}

/**
 * Brings the VF netdev of `record` back to the host under its original name, from wherever it
 * is: in the live pod (as `CNI_IFNAME` or the temporary name), or already in the host (the pod's
 * netns died and the kernel returned the device under the pod's name, or a previous DEL got
 * half-way). Finding it nowhere is success: the VF was removed or its netns took it down. A record
 * without the host name (a Go plugin cache without `HostIFNames`) leaves the netdev the name it
 * has, unless that name is taken in the host: then it gets the temporary name.
 *
 * @param pod `null` when it is gone
 * @returns the netdev's name in the host, or `null` when it was not found
 * @throws {CniError} code 101 when a step fails
 */
export function returnNetdevToHost(
  netlink: Netlink,
  sysfs: Sysfs,
  record: NetdevVfRecord,
  host: Netns,
  pod: Netns | null,
): string | null {
  const hostIfName = record.hostIfName;
  const temp = record.tempIfName ?? hostIfName;
  // 1. In the pod: back to the host under the temporary name, in one request (the move takes the
  //    link down). NOTE: it arrives under a name unique in the host, not its host name, which
  //    another link may hold by now; step 3 renames it, and a DEL that stops in between finds it
  //    by that name.
  let moved: string | undefined;
  if (pod !== null) {
    const inPod = findFirst(netlink, pod, [record.ifname, temp ?? record.ifname]);
    if (inPod) {
      moved = temp ??
        (inUse(netlink, host, record.ifname) ? tempIfName(inPod.index) : record.ifname);
      move(netlink, pod, inPod.index, inPod.name, host, moved);
    }
  }
  // 2. In the host, under whichever name it has now: the one it was just moved under, one of
  //    ours, or, when its netns died or a rebind recreated it, the name the kernel gave it (sysfs
  //    knows it by PCI address).
  const current = kernelStep(
    `Cannot list the netdevs of ${quote(record.deviceId)}`,
    () => sysfs.netdevs(record.deviceId),
  );
  const names = [moved, temp, record.ifname, hostIfName, ...current];
  for (const name of new Set(names.filter((n) => n !== undefined))) {
    const link = kernelStep(
      `Cannot look up link ${quote(name)} in the host`,
      () => netlink.linkByName(host, name),
    );
    if (link === null || (name !== moved && !isOurVf(sysfs, record, link))) continue;
    // 3. Its host name, and the administrative state it had before ADD.
    restoreHostName(netlink, host, link, hostIfName ?? link.name, record.hostIfUp ?? link.up);
    return hostIfName ?? link.name;
  }
  return null;
}

/**
 * Gives a VF netdev that a rebind recreated (as `ibN`, down) its host `name` and administrative
 * state (`up`) from before ADD back.
 *
 * @throws {CniError} code 101 when a step fails
 */
export function restoreHostName(
  netlink: Netlink,
  host: Netns,
  link: LinkInfo,
  name: string,
  up: boolean,
): void {
  if (link.name !== name) {
    setDown(netlink, host, link);
    rename(netlink, host, link.index, link.name, name);
  }
  const now = netlink.linkByIndex(host, link.index) ?? link;
  if (now.up !== up) {
    kernelStep(
      `Cannot set link ${quote(name)} ${up ? "up" : "down"} in the host`,
      () => netlink.setLinkUp(host, link.index, up),
    );
  }
}

/**
 * Gives the VF netdev of `record`, back in the host under its name, the MTU and altnames it had
 * before ADD: the pod or a chained plugin may have changed its MTU, ADD may have removed an
 * altname (see `moveNetdevIntoPod`), and a rebind or RDMA move recreates the netdev with the
 * driver's MTU and no altnames. An altname another link took meanwhile stays that link's.
 *
 * Records older than these fields restore nothing.
 *
 * @returns the altnames left to other links
 * @throws {CniError} code 101 when a step fails
 */
export function restoreLinkProperties(
  netlink: Netlink,
  sysfs: Sysfs,
  record: NetdevVfRecord,
  host: Netns,
): string[] {
  const name = record.hostIfName ?? record.ifname;
  const link = lookup(netlink, host, name);
  if (link === null || link.name !== name || !isOurVf(sysfs, record, link)) return [];
  const mtu = record.hostIfMtu;
  if (mtu !== undefined && link.mtu !== mtu) {
    kernelStep(
      `Cannot set the MTU of link ${quote(name)} back to ${mtu} in ${netnsName(host)}`,
      () => netlink.setMtu(host, link.index, mtu),
    );
  }
  const taken: string[] = [];
  for (const alt of record.hostIfAltNames ?? []) {
    if (link.altNames.includes(alt)) continue;
    if (inUse(netlink, host, alt)) {
      taken.push(alt);
      continue;
    }
    kernelStep(
      `Cannot add altname ${quote(alt)} back to link ${quote(name)} in ${netnsName(host)}`,
      () => netlink.addAltName(host, link.index, alt),
    );
  }
  return taken;
}
