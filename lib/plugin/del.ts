import type { CniRequest } from "../cni/dispatch.ts";
import type { Logger } from "../log.ts";
import { loadNetConf, type NetConf } from "../config/load_net_conf.ts";
import { StateError } from "../state/state_error.ts";
import type { AttachmentKey, AttachmentRecord } from "../state/store.ts";
import { requestLogger } from "./request_logger.ts";
import type { Deps } from "./deps.ts";
import { withCniCodes } from "./to_cni_error.ts";
import { callIpam } from "./ipam_call.ts";
import { releaseLease } from "./lease_release.ts";
import { kernelStep } from "./kernel_step.ts";
import { openPodNetnsIfAlive } from "./pod_netns.ts";
import { quote } from "../cni/quote.ts";
import type { Netns } from "../netlink/netlink.ts";
import { returnRdmaToHost } from "./rdma_isolation.ts";
import { isVfTarget, restoreGuids, restoreLinkState } from "./vf_config.ts";
import { restoreLinkProperties, returnNetdevToHost } from "./vf_netdev.ts";

/**
 * Reads an attachment record; a corrupt one is logged and treated as absent, so DEL cannot be
 * stuck on a file it cannot parse.
 */
function readRecord(deps: Deps, key: AttachmentKey, log: Logger): AttachmentRecord | null {
  try {
    return deps.store.readAttachment(key);
  } catch (err) {
    if (!(err instanceof StateError) || err.code !== "corrupt") throw err;
    log.warning("attachment record is corrupt; removing it", { error: err.message });
    deps.store.removeAttachment(key);
    return null;
  }
}

/**
 * Gives the host back what ADD took, in the reverse order of ADD:
 *
 * 1. The netdev back to the host under its original name (a netdev VF).
 * 2. The RDMA device back to the host, if it is still in the pod (the netdev this recreates gets
 *    its host name again).
 * 3. The link state and the GUIDs ADD changed; a GUID restore rebinds the driver, and the
 *    recreated netdev gets its original name back.
 * 4. The netdev's MTU and altnames from before ADD, last: steps 2 and 3 recreate it.
 *
 * A device that no longer exists (SR-IOV disabled, VF removed) has nothing left to restore.
 */
async function restoreDevice(
  deps: Deps,
  record: AttachmentRecord,
  host: Netns,
  pod: Netns | null,
  log: Logger,
): Promise<void> {
  const exists = kernelStep(
    `Cannot read sysfs for deviceID ${quote(record.deviceId)}`,
    () => deps.sysfs.deviceExists(record.deviceId),
  );
  if (!exists) {
    log.warning("the device no longer exists; nothing to restore");
    return;
  }
  if (record.kind === "vf") {
    // 1.
    const found = returnNetdevToHost(deps.netlink, deps.sysfs, record, host, pod);
    if (!found) log.warning("VF netdev not found in the pod or the host; nothing to move back");
    // 2.
    if (record.rdmaDevice !== undefined) {
      const moved = await returnRdmaToHost(deps, record, host, pod);
      if (!moved) log.debug("RDMA device not in the pod; nothing to move back");
    }
  }
  // 3.
  if (isVfTarget(record)) {
    restoreLinkState(deps, host, record);
    await restoreGuids(deps, host, record);
  }
  // 4.
  if (record.kind === "vf") {
    const taken = restoreLinkProperties(deps.netlink, deps.sysfs, record, host);
    if (taken.length > 0) {
      log.warning("altnames another link took meanwhile are left to it", {
        altNames: taken.join(","),
      });
    }
  }
}

/**
 * Undoes one attachment from its record: the device restored (see `restoreDevice`), then the
 * record and the allocation removed. IPAM is released by the caller first.
 *
 * @param deps the dependencies
 * @param record the attachment
 * @param netns the namespace path to look in (`CNI_NETNS`, or the recorded one for GC)
 * @param log the request logger
 * @throws {CniError} when a kernel step fails; the record is kept so a retry can finish
 */
export async function releaseAttachment(
  deps: Deps,
  record: AttachmentRecord,
  netns: string,
  log: Logger,
): Promise<void> {
  using _lock = await deps.store.lock(record.deviceId, deps.lockTimeoutMs);
  // A VF whose allocation now belongs to another attachment was re-assigned after this pod's
  // netns died: touching it would break the new owner.
  const owner = deps.store.deviceOwner(record.deviceId);
  const ours = owner === null ||
    (owner.containerId === record.containerId && owner.ifname === record.ifname);
  if (ours) {
    using host = kernelStep("Cannot open the host netns", () => deps.netlink.hostNetns());
    const pod = openPodNetnsIfAlive(deps.netlink, netns);
    try {
      await restoreDevice(deps, record, host, pod, log);
    } finally {
      pod?.close();
    }
  } else {
    log.warning("device re-assigned to another attachment; leaving it alone", { owner });
  }
  deps.store.removeAttachment(record);
  deps.store.releaseDevice(record.deviceId, record);
  log.info("detached", { hostIfName: record.kind === "vf" ? record.hostIfName ?? "" : "" });
}

/**
 * What an ADD killed before its attachment record was in place leaves: ADD claims the device
 * first, so its allocation record (and temp files of the records it was writing, and of its lock's
 * owner file) can exist without a record for DEL to find. Only this attachment's own claim is
 * released; another's stays.
 */
async function releaseUnrecorded(deps: Deps, pci: string, key: AttachmentKey): Promise<void> {
  using _lock = await deps.store.lock(pci, deps.lockTimeoutMs);
  deps.store.removeAttachment(key);
  deps.store.releaseDevice(pci, key);
}

/**
 * The DEL config, or `null` when it broke a rule: DEL then undoes what the record says, and the
 * problem is a warning (see docs/how-it-works.md, "DEL").
 */
function delConf(req: CniRequest): NetConf | null {
  return req.configProblem === undefined ? loadNetConf(req.config, req.cniVersion, "DEL") : null;
}

/** The work of {@link cmdDel}, which gives its state errors their CNI codes. */
async function delCommand(deps: Deps, req: CniRequest): Promise<void> {
  const conf = delConf(req);
  const log = requestLogger(deps, req, conf);
  if (req.configProblem !== undefined) {
    log.warning("DEL config is invalid; undoing the ADD from its attachment record", {
      error: req.configProblem.message,
    });
  }
  const record = readRecord(deps, req.args, log);
  if (record === null) {
    // Without a record only a usable config says what to release.
    if (conf?.ipam !== undefined) await callIpam(deps, req, "DEL", conf.ipam.type);
    if (conf?.deviceId !== undefined) await releaseUnrecorded(deps, conf.deviceId, req.args);
    log.debug("no attachment record; nothing to undo");
    return;
  }
  // The spec has DEL release delegated IPAM even when the plugin has nothing of its own left.
  await releaseLease(deps, req, record, req.args, log);
  await releaseAttachment(deps, record, req.args.netns || record.netns, log);
}

/**
 * DEL: releases the IPAM lease, brings the VF back to the host and forgets the attachment, all
 * from the attachment record. Succeeds when there is nothing left to undo (no record, netns gone,
 * interface gone) and with a config that broke a rule or differs from the ADD's: a failing DEL
 * leaves the pod in Terminating while kubelet retries it forever.
 *
 * @param deps the dependencies
 * @param req the request (`configProblem` set when its config broke a rule)
 * @throws {CniError} when IPAM or a kernel step fails (the record stays for the retry)
 */
export function cmdDel(deps: Deps, req: CniRequest): Promise<void> {
  return withCniCodes(() => delCommand(deps, req));
}
