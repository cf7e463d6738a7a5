import { CniError } from "../cni/errors.ts";
import { quote } from "../cni/quote.ts";
import { errorMessage } from "../error_message.ts";
import type { NetConf } from "../config/load_net_conf.ts";
import {
  ALL_ONES_GUID,
  guidFromIpoibAddress,
  guidFromSysfs,
  isAssignedGuid,
  normalizeGuid,
  ZERO_GUID,
} from "../guid.ts";
import {
  type LinkInfo,
  NetlinkError,
  type Netns,
  NleCode,
  type VfChange,
  type VfLinkState,
  type VfSettings,
} from "../netlink/netlink.ts";
import type { Logger } from "../log.ts";
import type {
  AttachmentRecord,
  NetdevVfRecord,
  OriginalVfSettings,
  VfioVfRecord,
} from "../state/store.ts";
import type { Deps } from "./deps.ts";
import { withNodeLock } from "./node_lock.ts";
import { deviceError, kernelError, kernelStep, stepError } from "./to_cni_error.ts";
import { rebindVf, restoreRecreatedNetdev, waitForNetdev } from "./rebind.ts";
import type { Device, NetdevVf, VfioVf } from "./resolve_device.ts";
import type { Sysfs } from "../sysfs/sysfs.ts";

/** What ADD changes on a VF through its PF, and what was there before. */
export interface VfConfigPlan {
  pfIndex: number;
  /** The link state to set; absent when the config has none or the VF already has it. */
  linkState?: VfLinkState;
  /** The node and port GUID to set; absent when none is requested or the VF already has it. */
  guid?: string;
  /** The VF's settings before ADD, for each setting ADD changes: `AttachmentRecord.original`. */
  original: OriginalVfSettings;
}

/**
 * The node GUID the VF's driver read at its last probe, as its RDMA device's `node_guid` in sysfs;
 * `null` when sysfs shows no RDMA device with one.
 */
export function rdmaGuid(sysfs: Sysfs, pci: string): string | null {
  for (const dev of sysfs.rdmaDevices(pci)) {
    const text = sysfs.rdmaNodeGuid(pci, dev);
    const guid = text === null ? null : guidFromSysfs(text);
    if (guid !== null) return guid;
  }
  return null;
}

/** The GUID the VF's driver read at its last probe: its RDMA device's, else its IPoIB address's. */
function probedGuid(deps: Deps, vf: NetdevVf, link: LinkInfo): string | null {
  return rdmaGuid(deps.sysfs, vf.pci) ?? guidFromIpoibAddress(link.address);
}

/**
 * VF `vf`'s settings as its PF reports them; `null` when the PF lists no such VF. When the kernel
 * cannot send the PF's VF list (EMSGSIZE, a regression with many VFs) every setting is unknown
 * (`null`), as from a driver that reports none, and a warning says so: the callers fall back to
 * what sysfs gives.
 *
 * @throws {CniError} code 101 when the read fails otherwise
 */
export function readVfSettings(
  deps: Deps,
  host: Netns,
  pf: { index: number; name: string },
  vf: number,
  log: Logger,
): VfSettings | null {
  return kernelStep(`Cannot read VF ${vf} settings of PF ${quote(pf.name)}`, () => {
    try {
      return deps.netlink.vfSettings(host, pf.index, vf);
    } catch (err) {
      if (!(err instanceof NetlinkError && err.errnoName === "EMSGSIZE")) throw err;
      log.warning(
        "the kernel cannot send the PF's VF list; the VF's GUID comes from sysfs, its link state is unknown",
        { pf: pf.name, vf, error: err.message },
      );
      return { vf, nodeGuid: null, portGuid: null, linkState: null };
    }
  });
}

/**
 * With no GUID requested, a netdev VF's own GUID must be a real one: the Go plugin's most
 * reported failure is a VF whose GUID was never assigned, so the message says what to do about it.
 * `probed` is the GUID the VF's driver probed, `null` when unreadable.
 */
export function requireOwnGuid(
  conf: Pick<NetConf, "guid">,
  device: Device,
  probed: string | null,
): void {
  if (conf.guid !== undefined || device.kind !== "vf") return;
  if (probed !== null && isAssignedGuid(probed)) return;
  throw deviceError(
    `deviceID ${quote(device.pci)}: the VF's GUID is ${
      probed === null ? "unreadable" : quote(probed)
    }, which is not an assigned GUID, and the config requests none`,
    {
      details: "give the VF a GUID: runtimeConfig.infinibandGUID (capability infinibandGUID) or " +
        "args.cni.guid in the pod's network annotation, or set ibKubernetesEnabled and let " +
        "ib-kubernetes assign one; or assign GUIDs to every VF when SR-IOV is configured",
    },
  );
}

/**
 * Reads the VF's current settings and decides what ADD must change (see `requireOwnGuid` for a
 * VF that keeps its own GUID).
 *
 * @param link the VF's netdev in the host (`null` for a vfio-pci VF)
 * @throws {CniError} code 100 for a missing PF netdev or an unassigned GUID, 101 for a failed read
 */
export function planVfConfig(
  deps: Deps,
  host: Netns,
  conf: Pick<NetConf, "guid" | "linkState">,
  vf: NetdevVf | VfioVf,
  link: LinkInfo | null,
  log: Logger,
): VfConfigPlan {
  // 1. The PF, the VF's settings as the PF reports them, and the GUID the VF's driver probed.
  const pf = kernelStep(
    `Cannot look up PF netdev ${quote(vf.pfName)}`,
    () => deps.netlink.linkByName(host, vf.pfName),
  );
  if (pf === null) {
    throw deviceError(
      `deviceID ${quote(vf.pci)}: its PF netdev ${quote(vf.pfName)} is not in the host netns`,
    );
  }
  const current = readVfSettings(deps, host, { index: pf.index, name: vf.pfName }, vf.vfIndex, log);
  const probed = vf.kind === "vf" && link !== null
    ? kernelStep(`Cannot read the GUID of VF ${quote(vf.pci)}`, () => probedGuid(deps, vf, link))
    : null;
  const plan: VfConfigPlan = { pfIndex: pf.index, original: {} };
  // 2. The GUID: none requested needs an assigned one; a requested one not active is set.
  requireOwnGuid(conf, vf, probed);
  if (conf.guid !== undefined) {
    const want = normalizeGuid(conf.guid);
    const active = current?.nodeGuid === want && current.portGuid === want &&
      (vf.kind === "vfio-vf" || probed === want);
    if (!active) {
      plan.guid = want;
      // Drivers that do not report VF GUIDs leave only the probed one to go back to; with none
      // at all, all-ones is what the Go plugin restores and what mlx5 takes as "unassigned".
      const fromAddress = link === null ? null : guidFromIpoibAddress(link.address);
      plan.original.nodeGuid = current?.nodeGuid ?? probed ?? ALL_ONES_GUID;
      plan.original.portGuid = current?.portGuid ?? fromAddress ?? probed ?? ALL_ONES_GUID;
    }
  }
  // 3. The link state, when the VF does not have it yet. One not reported goes back to auto, what
  //    a new VF has and what the Go plugin's DEL restores.
  if (conf.linkState !== undefined && current?.linkState !== conf.linkState) {
    plan.linkState = conf.linkState;
    plan.original.linkState = current?.linkState ?? "auto";
  }
  return plan;
}

/** Whether the PF's driver has no handler for a VF setting: the kernel's EOPNOTSUPP. */
function unsupported(err: unknown): boolean {
  return err instanceof NetlinkError && err.code === NleCode.OpNotSupp;
}

/**
 * One `setVf`, with EOPNOTSUPP turned into a message about the PF's driver: about GUIDs whenever
 * the change has one, since the kernel does not say which attribute it refused.
 */
function setVf(deps: Deps, host: Netns, pfIndex: number, r: VfTarget, change: VfChange): void {
  const guid = change.nodeGuid !== undefined;
  const what = guid
    ? `the node and port GUID of VF ${r.vfIndex} to ${quote(change.nodeGuid)}`
    : `the link state of VF ${r.vfIndex} to ${quote(change.linkState ?? "")}`;
  try {
    deps.netlink.setVf(host, pfIndex, r.vfIndex, change);
  } catch (err) {
    if (unsupported(err)) {
      throw deviceError(
        `Cannot set ${what} through PF ${quote(r.pfName)}: the PF's driver cannot set VF ${
          guid ? "GUIDs" : "link state"
        } (${errorMessage(err)})`,
        {
          details: guid
            ? "VF GUIDs need an InfiniBand PF whose driver supports them (mlx5_core)"
            : "link_state needs a PF whose driver can set VF link state (mlx5_core); without " +
              "link_state the VF keeps its own",
          cause: err,
        },
      );
    }
    throw stepError(`Cannot set ${what} through PF ${quote(r.pfName)}`, err);
  }
}

/** The record of a VF that names its PF and index: what ADD changes through the PF, and DEL restores. */
export type VfTarget = (NetdevVfRecord | VfioVfRecord) & { pfName: string; vfIndex: number };

/**
 * Whether a record names a VF through its PF, whose settings can be read and restored through
 * it. A Go cache file of a PF (no `Master`) names none.
 */
export function isVfTarget(record: AttachmentRecord): record is VfTarget {
  return record.kind !== "vfio-pf" && record.pfName !== undefined && record.vfIndex !== undefined;
}

function pfIndexOf(deps: Deps, host: Netns, r: VfTarget): number {
  // The PF's netdev may have been renamed since ADD; sysfs knows it by the VF's PCI address.
  const pfName = kernelStep(`Cannot read the PF of ${quote(r.deviceId)}`, () => {
    const pfPci = deps.sysfs.physfn(r.deviceId);
    return (pfPci === null ? undefined : deps.sysfs.netdevs(pfPci)[0]) ?? r.pfName;
  });
  const pf = kernelStep(
    `Cannot look up PF netdev ${quote(pfName)}`,
    () => deps.netlink.linkByName(host, pfName),
  );
  if (pf === null) {
    throw kernelError(
      `Cannot restore VF ${r.vfIndex} of PF ${quote(pfName)}: the PF netdev is not in the host`,
    );
  }
  return pf.index;
}

/**
 * Sets the link state of the plan, pushing the undo that restores `record.original`'s.
 *
 * @throws {CniError} code 100 when the PF's driver cannot, 101 when the kernel refuses
 */
export function applyLinkState(
  deps: Deps,
  host: Netns,
  record: VfTarget,
  plan: VfConfigPlan,
  push: (label: string, undo: () => void | Promise<void>) => void,
): void {
  if (plan.linkState === undefined) return;
  setVf(deps, host, plan.pfIndex, record, { linkState: plan.linkState });
  push(
    `restore the link state of VF ${record.vfIndex}`,
    () => restoreLinkState(deps, host, record),
  );
}

/**
 * Sets the node and port GUID of the plan and, for a netdev VF, rebinds its driver so that the
 * GUID takes effect, all under the node lock. The undo (restore the GUIDs, rebind, give the
 * netdev its host name back) is pushed before the GUIDs are sent, so a request the kernel refused
 * halfway and a failed rebind are undone too.
 *
 * @returns the VF's netdev after the rebind, or `null` when nothing was rebound
 * @throws {CniError} code 100 when the PF's driver cannot, 101 when a step fails
 */
export async function applyGuid(
  deps: Deps,
  host: Netns,
  record: VfTarget,
  plan: VfConfigPlan,
  push: (label: string, undo: () => void | Promise<void>) => void,
): Promise<LinkInfo | null> {
  const guid = plan.guid;
  if (guid === undefined) return null;
  return await withNodeLock(deps, async () => {
    // The kernel sets the node GUID, then the port GUID, and stops at the first refusal: the undo
    // comes first. Only EOPNOTSUPP proves nothing was set (no GUID handler at all).
    let setNone = false;
    push(
      `restore the GUIDs of VF ${record.vfIndex}`,
      () => setNone ? undefined : restoreGuids(deps, host, record),
    );
    try {
      setVf(deps, host, plan.pfIndex, record, { nodeGuid: guid, portGuid: guid });
    } catch (err) {
      setNone = err instanceof CniError && unsupported(err.cause);
      throw err;
    }
    // A netdev VF takes a new GUID at its next probe; a vfio-pci VF's guest takes it at boot.
    if (record.kind !== "vf") return null;
    rebindVf(deps, record);
    return await waitForNetdev(deps, host, record.deviceId);
  });
}

/** Restores the link state recorded in `record.original`, if ADD changed it (code 100/101). */
export function restoreLinkState(deps: Deps, host: Netns, record: VfTarget): void {
  const state = record.original?.linkState;
  if (state === undefined) return;
  setVf(deps, host, pfIndexOf(deps, host, record), record, { linkState: state });
}

/**
 * Restores the GUIDs recorded in `record.original`, if ADD changed them, then (netdev VF)
 * rebinds the driver and gives the recreated netdev its original host name and state. An
 * all-zero original is written as all-ones, as the Go plugin does: drivers refuse zero.
 *
 * @throws {CniError} code 100/101 naming the step
 */
export async function restoreGuids(deps: Deps, host: Netns, record: VfTarget): Promise<void> {
  const { nodeGuid, portGuid } = record.original ?? {};
  if (nodeGuid === undefined || portGuid === undefined) return;
  const writable = (g: string) => g === ZERO_GUID ? ALL_ONES_GUID : g;
  const pfIndex = pfIndexOf(deps, host, record);
  await withNodeLock(deps, async () => {
    setVf(deps, host, pfIndex, record, {
      nodeGuid: writable(nodeGuid),
      portGuid: writable(portGuid),
    });
    if (record.kind !== "vf") return;
    rebindVf(deps, record);
    await restoreRecreatedNetdev(deps, host, record);
  });
}
