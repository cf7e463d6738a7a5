import type { CniRequest } from "../cni/dispatch.ts";
import type { Logger } from "../log.ts";
import { decodeNetConf, type NetConf } from "../config/load_net_conf.ts";
import { StateError } from "../state/state_error.ts";
import type { AttachmentKey, AttachmentRecord } from "../state/store.ts";
import { requestLogger } from "./request_logger.ts";
import type { Deps } from "./deps.ts";
import { kernelStep, withCniCodes } from "./to_cni_error.ts";
import { callIpam } from "./ipam_call.ts";
import { releaseLease } from "./lease_release.ts";
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
 *
 * @returns whether the VF's netdev was left where it is, not found in the pod or the host
 */
async function restoreDevice(
  deps: Deps,
  record: AttachmentRecord,
  host: Netns,
  pod: Netns | null,
  log: Logger,
): Promise<boolean> {
  const exists = kernelStep(
    `Cannot read sysfs for deviceID ${quote(record.deviceId)}`,
    () => deps.sysfs.deviceExists(record.deviceId),
  );
  if (!exists) {
    log.warning("the device no longer exists; nothing to restore");
    return false;
  }
  let left = false;
  if (record.kind === "vf") {
    // 1.
    const name = returnNetdevToHost(deps.netlink, deps.sysfs, record, host, pod);
    left = name === null;
    if (name !== null && record.hostIfName === undefined) {
      log.warning(
        `VF ${quote(record.deviceId)}: the record has no host name for its netdev; it stays in ` +
          `the host as ${quote(name)}${
            name === record.ifname ? "" : ` (${quote(record.ifname)} is taken there)`
          }`,
      );
    }
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
  return left;
}

/**
 * Undoes one attachment from its record: the device restored (see `restoreDevice`), then the
 * record and the allocation removed. IPAM is released by the caller first. A record that names
 * no device (a Go plugin cache from before v1.3.0, with no `deviceID` in the config either)
 * leaves the VF where it is, with a warning.
 *
 * @param netns the namespace path to look in (`CNI_NETNS`, or the recorded one for GC)
 * @param keepLeft keep the record of a VF left where it is (GC: a later GC may find it)
 * @throws {CniError} when a kernel step fails; the record is kept so a retry can finish
 */
export async function releaseAttachment(
  deps: Deps,
  record: AttachmentRecord,
  netns: string,
  log: Logger,
  keepLeft = false,
): Promise<void> {
  if (record.deviceId === "") {
    log.warning(
      `the record names no device and the config no deviceID: ${quote(record.ifname)} is left ` +
        `in ${netns === "" ? "its pod netns" : `netns ${quote(netns)}`}`,
    );
    if (!keepLeft) deps.store.removeAttachment(record);
    return;
  }
  using _lock = await deps.store.lock(record.deviceId, deps.lockTimeoutMs);
  // A VF whose allocation now belongs to another attachment was re-assigned after this pod's
  // netns died: touching it would break the new owner.
  const owner = deps.store.deviceOwner(record.deviceId);
  const ours = owner === null ||
    (owner.containerId === record.containerId && owner.ifname === record.ifname);
  let left = false;
  if (ours) {
    using host = kernelStep("Cannot open the host netns", () => deps.netlink.hostNetns());
    const pod = openPodNetnsIfAlive(deps.netlink, netns);
    try {
      left = await restoreDevice(deps, record, host, pod, log);
    } finally {
      pod?.close();
    }
  } else {
    log.warning("device re-assigned to another attachment; leaving it alone", { owner });
  }
  if (left) {
    log.warning(
      `VF ${quote(record.deviceId)}: its netdev is found neither in the host nor as ${
        quote(record.ifname)
      } in ${netns === "" ? "a netns (the record names none)" : `netns ${quote(netns)}`}; it is ` +
        `left where it is${keepLeft ? ", and its record kept" : ""}`,
    );
    if (keepLeft) return;
  }
  deps.store.removeAttachment(record);
  deps.store.releaseDevice(record.deviceId, record);
  log.info("detached", { hostIfName: record.kind === "vf" ? record.hostIfName ?? "" : "" });
}

/**
 * Completes a record that lacks what DEL needs from the request's config, as the Go plugin's DEL
 * reads it: a record without the ADD's config (a Go plugin cache above all, which before v1.3.0
 * held only `cniVersion`, `name`, `type` and `ipam`) gets the config's `deviceID` when it names
 * none, and a netdev VF its `ipam.type` (Go runs IPAM DEL with the request's config).
 */
export function completeFromRequest(
  record: AttachmentRecord,
  conf: NetConf | null,
): AttachmentRecord {
  if (record.config !== undefined || conf === null) return record;
  const ipamType = record.kind === "vf" ? record.ipamType ?? conf.ipam?.type : undefined;
  return {
    ...record,
    deviceId: record.deviceId || (conf.deviceId ?? ""),
    ...(ipamType === undefined ? {} : { ipamType }),
  };
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
  return req.configProblem === undefined ? decodeNetConf(req) : null;
}

/**
 * DEL: releases the IPAM lease, brings the VF back to the host and forgets the attachment, all
 * from the attachment record. Succeeds when there is nothing left to undo (no record, netns gone,
 * interface gone) and with a config that broke a rule or differs from the ADD's: a failing DEL
 * leaves the pod in Terminating while kubelet retries it forever.
 *
 * @throws {CniError} when IPAM or a kernel step fails (the record stays for the retry)
 */
export const cmdDel = withCniCodes(async (deps: Deps, req: CniRequest): Promise<void> => {
  const conf = delConf(req);
  const log = requestLogger(deps, req, conf);
  if (req.configProblem !== undefined) {
    log.warning("DEL config is invalid; undoing the ADD from its attachment record", {
      error: req.configProblem.message,
    });
  }
  const read = readRecord(deps, req.args, log);
  if (read === null) {
    // Without a record only a usable config says what to release.
    if (conf?.ipam !== undefined) await callIpam(deps, req, "DEL", conf.ipam.type);
    if (conf?.deviceId !== undefined) await releaseUnrecorded(deps, conf.deviceId, req.args);
    log.debug("no attachment record; nothing to undo");
    return;
  }
  const record = completeFromRequest(read, conf);
  // The spec has DEL release delegated IPAM even when the plugin has nothing of its own left.
  await releaseLease(deps, req, record, req.args, log);
  await releaseAttachment(deps, record, req.args.netns || record.netns, log);
});
