import type { CniRequest } from "../cni/dispatch.ts";
import type { CmdArgs } from "../cni/env.ts";
import { quote } from "../cni/quote.ts";
import { parseResult, type Result } from "../cni/result.ts";
import { decodeNetConf, type NetConf } from "../config/load_net_conf.ts";
import { normalizeGuid } from "../guid.ts";
import type { Logger } from "../log.ts";
import type { LinkInfo, Netns } from "../netlink/netlink.ts";
import type { AttachmentRecord, NetdevVfRecord } from "../state/store.ts";
import { isVfTarget, rdmaGuid, readVfSettings } from "./vf_config.ts";
import type { Deps } from "./deps.ts";
import { checkFailed, kernelStep, noAttachment, withCniCodes } from "./to_cni_error.ts";
import { callIpam } from "./ipam_call.ts";
import { openPodNetns } from "./pod_netns.ts";
import { requestLogger } from "./request_logger.ts";
import { completeFromRequest } from "./del.ts";

/**
 * The VF's GUID and link state, as its PF reports them, are still the ones the config asks for.
 * A GUID the PF does not report is checked against the VF's RDMA device, when sysfs shows it.
 */
function checkVfSettings(deps: Deps, conf: NetConf, record: AttachmentRecord, log: Logger): void {
  if (!isVfTarget(record)) return;
  const { pfName, vfIndex } = record;
  if (conf.guid === undefined && conf.linkState === undefined) return;
  using host = kernelStep("Cannot open the host netns", () => deps.netlink.hostNetns());
  const pf = kernelStep(
    `Cannot look up PF netdev ${quote(pfName)}`,
    () => deps.netlink.linkByName(host, pfName),
  );
  if (pf === null) throw checkFailed(`PF netdev ${quote(pfName)} is missing from the host`);
  const vf = readVfSettings(deps, host, { index: pf.index, name: pfName }, vfIndex, log);
  if (vf === null) throw checkFailed(`PF ${quote(pfName)} no longer lists VF ${vfIndex}`);
  if (conf.guid !== undefined) {
    const want = normalizeGuid(conf.guid);
    // A GUID that neither the PF nor sysfs reports cannot be checked, which is no failure.
    const have = vf.nodeGuid ?? kernelStep(
      `Cannot read the GUID of VF ${quote(record.deviceId)}`,
      () => rdmaGuid(deps.sysfs, record.deviceId),
    );
    if (have !== null && have !== want) {
      throw checkFailed(
        `VF ${vfIndex} of PF ${quote(pfName)} has node GUID ${quote(have)}, not ${quote(want)}`,
      );
    }
  }
  if (conf.linkState !== undefined && vf.linkState !== null && vf.linkState !== conf.linkState) {
    throw checkFailed(
      `VF ${vfIndex} of PF ${quote(pfName)} has link_state ${quote(vf.linkState)}, not ${
        quote(conf.linkState)
      }`,
    );
  }
}

/**
 * The attachment of the request, which must exist and be of the config's device (a Go plugin
 * cache that names none is of the config's, as for DEL).
 */
function attachedRecord(deps: Deps, req: CniRequest, conf: NetConf): AttachmentRecord {
  const { containerId, ifname } = req.args;
  const read = deps.store.readAttachment(req.args);
  const record = read === null ? null : completeFromRequest(read, conf);
  if (record === null) {
    throw noAttachment(
      `no attachment of container ${quote(containerId)} interface ${
        quote(ifname)
      }: ADD did not run or DEL already did`,
    );
  }
  if (record.deviceId !== conf.deviceId) {
    throw checkFailed(
      `deviceID ${quote(conf.deviceId)} differs from the attached VF ${quote(record.deviceId)}`,
    );
  }
  return record;
}

/** The VF's RDMA device, if ADD moved it, and its interface, up, are in the pod. */
function checkPodDevices(deps: Deps, pod: Netns, record: NetdevVfRecord, args: CmdArgs): LinkInfo {
  const { ifname, netns } = args;
  if (record.rdmaDevice !== undefined) {
    const devices = kernelStep(
      `Cannot list RDMA devices in netns ${quote(netns)}`,
      () => deps.rdma.devices(pod),
    );
    if (!devices.includes(record.rdmaDevice)) {
      throw checkFailed(
        `RDMA device ${quote(record.rdmaDevice)} is missing from netns ${quote(netns)}`,
      );
    }
  }
  const link = kernelStep(
    `Cannot look up ${quote(ifname)} in netns ${quote(netns)}`,
    () => deps.netlink.linkByName(pod, ifname),
  );
  if (link === null) {
    throw checkFailed(`interface ${quote(ifname)} is missing from netns ${quote(netns)}`);
  }
  if (!link.up) throw checkFailed(`interface ${quote(ifname)} in netns ${quote(netns)} is down`);
  return link;
}

/** The addresses prevResult gave our interface, and its routes, are on the link. */
function checkPrevResult(
  deps: Deps,
  pod: Netns,
  link: LinkInfo,
  prev: Result,
  args: CmdArgs,
): void {
  const { ifname, netns } = args;
  const ours = prev.interfaces.findIndex((i) =>
    i.name === ifname && (i.sandbox ?? netns) === netns
  );
  const addresses = kernelStep(
    `Cannot list addresses of ${quote(ifname)}`,
    () => deps.netlink.listAddresses(pod, link.index),
  );
  for (const ip of prev.ips.filter((ip) => ip.interface === ours)) {
    if (!addresses.includes(ip.address)) {
      throw checkFailed(
        `address ${quote(ip.address)} of prevResult is missing from ${quote(ifname)}`,
      );
    }
  }
  const routes = kernelStep(
    `Cannot list routes of ${quote(ifname)}`,
    () => deps.netlink.listRoutes(pod, link.index),
  );
  for (const route of prev.routes) {
    const present = routes.some((r) =>
      r.dst === route.dst && (route.gw === undefined || r.gw === route.gw)
    );
    if (!present) {
      const via = route.gw ? ` via ${quote(route.gw)}` : "";
      throw checkFailed(`route ${quote(route.dst)}${via} of prevResult is missing`);
    }
  }
}

/**
 * CHECK: the attachment exists; the VF still has the GUID and link state asked for and its RDMA
 * device is in the pod; its interface is in the pod and up, carries the addresses and routes of
 * `prevResult`; and the IPAM plugin's own CHECK passes.
 *
 * @throws {CniError} code 104 naming what is missing, 3 when there is no such attachment
 */
export const cmdCheck = withCniCodes(async (deps: Deps, req: CniRequest): Promise<void> => {
  const conf = decodeNetConf(req);
  const log = requestLogger(deps, req, conf);
  // 1. The attachment exists and is of this device.
  const record = attachedRecord(deps, req, conf);
  {
    using pod = openPodNetns(deps.netlink, req.args.netns);
    // 2. The VF's GUID and link state, as its PF reports them.
    checkVfSettings(deps, conf, record, log);
    // A vfio-pci device has nothing in the pod's netns, and ADD made no IPAM call for it.
    if (record.kind !== "vf") return;
    // 3. Its RDMA device and its interface, up, in the pod.
    const link = checkPodDevices(deps, pod, record, req.args);
    // 4. prevResult's addresses and routes on the interface.
    if (conf.prevResult !== undefined) {
      checkPrevResult(deps, pod, link, parseResult(conf.prevResult), req.args);
    }
  }
  // 5. The IPAM plugin's own CHECK.
  if (conf.ipam !== undefined) await callIpam(deps, req, "CHECK", conf.ipam.type);
});
