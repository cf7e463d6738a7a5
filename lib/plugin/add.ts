import type { CniRequest } from "../cni/dispatch.ts";
import { CniError } from "../cni/errors.ts";
import { quote } from "../cni/quote.ts";
import {
  assertRepresentable,
  emptyResult,
  parseResult,
  type Result,
  type ResultInterface,
  type ResultRoute,
} from "../cni/result.ts";
import { decodeNetConf, type NetConf } from "../config/load_net_conf.ts";
import type { LinkInfo, Netns } from "../netlink/netlink.ts";
import { StateError } from "../state/state_error.ts";
import type {
  AttachmentKey,
  AttachmentRecord,
  NetdevVfRecord,
  RecordCommon,
  VfioVfRecord,
} from "../state/store.ts";
import type { Deps } from "./deps.ts";
import { attachedDeviceInfo, readDeviceInfo, writeDeviceInfo } from "./device_info.ts";
import { callIpam } from "./ipam_call.ts";
import { noteRollback, requestLogger } from "./request_logger.ts";
import { openPodNetns } from "./pod_netns.ts";
import type { Logger } from "../log.ts";
import {
  assertRdmaExclusive,
  moveRdmaDevice,
  rdmaDeviceOf,
  returnRdmaToHost,
} from "./rdma_isolation.ts";
import { waitForNetdev } from "./rebind.ts";
import { type Device, type NetdevVf, resolveDevice, type VfioVf } from "./resolve_device.ts";
import { Rollback } from "./rollback.ts";
import { applyGuid, applyLinkState, planVfConfig, type VfTarget } from "./vf_config.ts";
import {
  configError,
  deviceError,
  ifnameError,
  ipamError,
  kernelStep,
  netnsError,
  notYet,
  stateErrorToCni,
  withCniCodes,
} from "./to_cni_error.ts";
import { moveNetdevIntoPod, restoreLinkProperties, tempIfName } from "./vf_netdev.ts";

/** The annotation value ib-kubernetes sets once the GUID is in the partition. */
const IB_KUBERNETES_READY = "configured";

/**
 * With ib-kubernetes, ADD waits for its annotation.
 *
 * @throws {CniError} code 11 until ib-kubernetes has added the pod's GUID to the partition
 */
export function checkIbKubernetes(conf: NetConf): void {
  if (!conf.ibKubernetesEnabled) return;
  const state = conf.argsCni["mellanox.infiniband.app"];
  if (state !== IB_KUBERNETES_READY) {
    throw notYet(
      `args.cni["mellanox.infiniband.app"] is ${
        quote(state ?? null)
      }, not "configured": ib-kubernetes has not yet added the pod's GUID to the partition`,
      {
        details:
          "ibKubernetesEnabled is true; the runtime retries until ib-kubernetes sets the annotation",
      },
    );
  }
}

/**
 * With ib-kubernetes, a VF's GUID is ib-kubernetes's to assign: a pod without one would get
 * whatever GUID the VF had, outside the partition ib-kubernetes manages.
 */
export function requireAssignedGuid(conf: NetConf, device: Device): void {
  if (!conf.ibKubernetesEnabled || device.kind === "vfio-pf" || conf.guid !== undefined) return;
  throw configError(
    "ibKubernetesEnabled is true but no GUID was given (runtimeConfig.infinibandGUID or " +
      "args.cni.guid): ib-kubernetes must assign the VF's GUID",
    {
      details: "ib-kubernetes writes the GUID into the pod's network annotation: as " +
        "infiniband-guid when the NAD declares capabilities.infinibandGUID, else as cni-args " +
        "guid; check that Multus passes it on",
    },
  );
}

/** The config's settings that ADD applies to a device of this kind (GUID, link state: a VF's). */
export interface AddSettings extends Pick<NetConf, "guid" | "linkState"> {
  /** A netdev VF's: its RDMA device into the pod, and the IPAM plugin for its addresses. */
  rdmaIsolation: boolean;
  ipamType?: string;
  /** The fields a PF passed through ignores: logged, as ib-kubernetes may add a GUID. */
  ignored: string[];
}

/**
 * What of the config ADD applies to `device`: a vfio-pci VF has no netdev for RDMA isolation or
 * IPAM, a PF passed through takes nothing.
 */
export function addSettings(conf: NetConf, device: Device): AddSettings {
  if (device.kind === "vfio-pf") {
    const ignored = [
      conf.guid === undefined ? null : conf.guidSource ?? "guid",
      conf.linkState === undefined ? null : "link_state",
      conf.ipam === undefined ? null : "ipam",
    ];
    return { rdmaIsolation: false, ignored: ignored.filter((f) => f !== null) };
  }
  const netdev = device.kind === "vf";
  return {
    ...(conf.guid === undefined ? {} : { guid: conf.guid }),
    ...(conf.linkState === undefined ? {} : { linkState: conf.linkState }),
    rdmaIsolation: netdev && conf.rdmaIsolation,
    ...(netdev && conf.ipam !== undefined ? { ipamType: conf.ipam.type } : {}),
    ignored: [],
  };
}

/** Adds addresses, brings the link up, then adds routes: a gateway route needs the link up. */
function configurePodInterface(
  deps: Deps,
  pod: Netns,
  link: LinkInfo,
  ipam: Result,
  ifname: string,
): void {
  for (const ip of ipam.ips) {
    kernelStep(
      `Cannot add address ${quote(ip.address)} to ${quote(ifname)} in netns ${quote(pod.path)}`,
      () => deps.netlink.addAddress(pod, link.index, ip.address),
    );
  }
  kernelStep(
    `Cannot set ${quote(ifname)} up in netns ${quote(pod.path)}`,
    () => deps.netlink.setLinkUp(pod, link.index, true),
  );
  for (const route of ipam.routes) {
    const v4 = !route.dst.includes(":");
    // As the reference plugins do, a route without a gateway goes through the first gateway of
    // its address family, when the IPAM result has one.
    const gw = route.gw ??
      ipam.ips.find((ip) => ip.gateway !== undefined && !ip.address.includes(":") === v4)?.gateway;
    const spec: ResultRoute = gw === undefined ? { ...route } : { ...route, gw };
    kernelStep(
      `Cannot add route ${quote(route.dst)} via ${quote(gw ?? "link")} in netns ${quote(pod.path)}`,
      () => deps.netlink.addRoute(pod, link.index, spec),
    );
  }
}

/** What one ADD works on, passed to its stages. */
interface AddContext {
  deps: Deps;
  req: CniRequest;
  settings: AddSettings;
  host: Netns;
  pod: Netns;
  common: RecordCommon;
  rollback: Rollback;
  log: Logger;
}

interface Attached {
  record: AttachmentRecord;
  iface: ResultInterface;
  ipam: Result;
}

/**
 * The VF's netdev, which must be in the host, while `CNI_IFNAME` must be free in the pod.
 *
 * @throws {CniError} code 100 when the netdev is elsewhere, 4 when the pod has the name
 */
function findNetdev(c: AddContext, vf: NetdevVf): LinkInfo {
  const { deps, host, pod } = c;
  const { ifname, netns } = c.req.args;
  const hostLink = kernelStep(
    `Cannot look up VF netdev ${quote(vf.netdev)}`,
    () => deps.netlink.linkByName(host, vf.netdev),
  );
  if (hostLink === null) {
    throw deviceError(
      `deviceID ${quote(vf.pci)}: its netdev ${quote(vf.netdev)} is not in the host netns`,
    );
  }
  const taken = kernelStep(
    `Cannot look up ${quote(ifname)} in netns ${quote(netns)}`,
    () => deps.netlink.linkByName(pod, ifname),
  );
  if (taken !== null) {
    throw ifnameError(
      `CNI_IFNAME ${quote(ifname)} already exists in netns ${quote(netns)}`,
      { details: "the spec forbids replacing an interface the container already has" },
    );
  }
  return hostLink;
}

/**
 * Moves the VF's RDMA device into the pod. Its name is read again: a rebind recreated it. The
 * move recreates the IPoIB netdev in the host, which is returned.
 */
async function isolateRdma(c: AddContext, record: NetdevVfRecord): Promise<LinkInfo> {
  const { deps, host, pod } = c;
  const rdma = rdmaDeviceOf(deps, record.deviceId);
  record.rdmaDevice = rdma;
  deps.store.writeAttachment(record);
  await moveRdmaDevice(deps, host, rdma, pod);
  c.rollback.push(`move RDMA device ${rdma} back to the host`, async () => {
    await returnRdmaToHost(deps, record, host, pod);
  });
  return await waitForNetdev(deps, host, record.deviceId);
}

/**
 * Asks the IPAM plugin for addresses, from the host namespace, and pushes the release of the
 * lease. A result without addresses is refused.
 */
async function requestAddresses(c: AddContext): Promise<Result> {
  const { deps, req } = c;
  const ipamType = c.settings.ipamType;
  if (ipamType === undefined) return emptyResult();
  const raw = await callIpam(deps, req, "ADD", ipamType);
  c.rollback.push(`release the IPAM lease (${ipamType} DEL)`, async () => {
    await callIpam(deps, req, "DEL", ipamType);
  });
  const ipam = parseResult(raw);
  if (ipam.ips.length === 0) {
    throw ipamError(`IPAM plugin ${quote(ipamType)} returned no IP addresses`);
  }
  return ipam;
}

/**
 * A netdev VF: settings through the PF, RDMA device and netdev into the pod, then IPAM.
 * Each step pushes its undo.
 */
async function attachNetdevVf(c: AddContext, vf: NetdevVf): Promise<Attached> {
  const { deps, settings, host, pod, rollback } = c;
  const { ifname, netns } = c.req.args;
  const push = rollback.push.bind(rollback);
  // 1. The VF's netdev is in the host and CNI_IFNAME is free in the pod.
  const hostLink = findNetdev(c, vf);
  // 2. Record what the VF has before the first change, so DEL can restore it after a crash.
  const plan = planVfConfig(deps, host, settings, vf, hostLink, c.log);
  const record: NetdevVfRecord & VfTarget = {
    ...c.common,
    kind: "vf",
    pfName: vf.pfName,
    vfIndex: vf.vfIndex,
    driver: vf.driver,
    hostIfName: vf.netdev,
    hostIfAddress: hostLink.address,
    hostIfUp: hostLink.up,
    hostIfMtu: hostLink.mtu,
    hostIfAltNames: hostLink.altNames,
    tempIfName: tempIfName(hostLink.index),
    original: plan.original,
    ...(settings.rdmaIsolation ? { rdmaDevice: rdmaDeviceOf(deps, vf.pci) } : {}),
  };
  deps.store.writeAttachment(record);
  // The undo that runs last: however the steps below leave the netdev (a rebind recreates it),
  // it ends with the MTU and altnames it had.
  push(`restore the MTU and altnames of ${vf.netdev}`, () => {
    restoreLinkProperties(deps.netlink, deps.sysfs, record, host);
  });
  // 3. Link state, then GUIDs: the rebind that makes a GUID take effect recreates the netdev
  //    under a new name and ifindex.
  applyLinkState(deps, host, record, plan, push);
  let link = await applyGuid(deps, host, record, plan, push) ?? hostLink;
  // 4. The RDMA device into the pod, before the netdev: moving it recreates the netdev again.
  if (settings.rdmaIsolation) link = await isolateRdma(c, record);
  // 5. A recreated netdev: DEL must find it under its new address and temporary name.
  if (link !== hostLink) {
    record.hostIfAddress = link.address;
    record.tempIfName = tempIfName(link.index);
    deps.store.writeAttachment(record);
  }
  // 6. The netdev into the pod under CNI_IFNAME.
  const inPod = moveNetdevIntoPod(deps.netlink, {
    host,
    pod,
    hostIfName: link.name,
    podIfName: ifname,
  }, rollback);
  // 7. Addresses from the IPAM plugin; then addresses, up, routes in the pod.
  const ipam = await requestAddresses(c);
  configurePodInterface(deps, pod, inPod, ipam, ifname);
  c.log.info("attached", { hostIfName: vf.netdev, pf: vf.pfName, vf: vf.vfIndex });
  return {
    record,
    iface: { name: ifname, mac: inPod.address, mtu: inPod.mtu, sandbox: netns, pciID: vf.pci },
    ipam,
  };
}

/**
 * A VF bound to vfio-pci: its link state, then its GUID, are set through the PF once the record
 * holds what it had, without a rebind (the guest's driver reads them when it starts); there is no
 * netdev to move and no IPAM.
 */
async function attachVfioVf(c: AddContext, vf: VfioVf): Promise<Attached> {
  const { deps, settings, host, rollback } = c;
  const push = rollback.push.bind(rollback);
  const plan = planVfConfig(deps, host, settings, vf, null, c.log);
  const record: VfioVfRecord & VfTarget = {
    ...c.common,
    kind: "vfio-vf",
    pfName: vf.pfName,
    vfIndex: vf.vfIndex,
    original: plan.original,
  };
  deps.store.writeAttachment(record);
  applyLinkState(deps, host, record, plan, push);
  await applyGuid(deps, host, record, plan, push);
  c.log.info("attached", { pf: vf.pfName, vf: vf.vfIndex, driver: "vfio-pci" });
  return { record, iface: vfioInterface(c), ipam: emptyResult() };
}

/** A PF bound to vfio-pci, handed over whole: nothing to change, only to record. */
function attachVfioPf(c: AddContext): Attached {
  const ignored = c.settings.ignored;
  if (ignored.length > 0) {
    c.log.warning("settings ignored for a PF passed through with vfio-pci", {
      fields: ignored.join(","),
    });
  }
  const record: AttachmentRecord = { ...c.common, kind: "vfio-pf" };
  return { record, iface: vfioInterface(c), ipam: emptyResult() };
}

/** The interface of a device handed over whole: it is in no netns, so only the PCI address. */
function vfioInterface(c: AddContext): ResultInterface {
  return { name: c.req.args.ifname, sandbox: c.req.args.netns, pciID: c.common.deviceId };
}

function attach(c: AddContext, device: Device): Promise<Attached> | Attached {
  switch (device.kind) {
    case "vf":
      return attachNetdevVf(c, device);
    case "vfio-vf":
      return attachVfioVf(c, device);
    case "vfio-pf":
      return attachVfioPf(c);
  }
}

/** prevResult's interfaces, addresses and routes, then ours (DNS: ours if we have any). */
function mergeResult(prev: Result, attached: Attached): Result {
  const { iface, ipam } = attached;
  const index = prev.interfaces.length;
  return {
    interfaces: [...prev.interfaces, iface],
    ips: [...prev.ips, ...ipam.ips.map((ip) => ({ ...ip, interface: index }))],
    routes: [...prev.routes, ...ipam.routes],
    dns: Object.keys(ipam.dns).length > 0 ? ipam.dns : prev.dns,
  };
}

/**
 * Undoes a failed ADD and returns the error to throw. The record and the allocation outlive an
 * incomplete rollback: they are what lets DEL (or GC) finish the cleanup later, and the error
 * says so.
 */
async function abandonAdd(
  deps: Deps,
  req: CniRequest,
  rollback: Rollback,
  pci: string,
  key: AttachmentKey,
  err: unknown,
): Promise<unknown> {
  const failed = await rollback.unwind();
  noteRollback(req, failed);
  if (failed.length === 0) {
    deps.store.removeAttachment(key);
    deps.store.releaseDevice(pci, key);
    return err;
  }
  const cni = err instanceof StateError ? stateErrorToCni(err) : err;
  if (!(cni instanceof CniError)) return err;
  const incomplete = `rollback incomplete: ${failed.join("; ")}; DEL will retry`;
  return new CniError(cni.code, cni.message, {
    details: [cni.details, incomplete].filter((d) => d).join("; "),
    cause: cni,
  });
}

/**
 * ADD: attaches the device named by `deviceID` to the pod. A netdev VF gets its link state and
 * GUID through its PF, its RDMA device (with `rdmaIsolation`) and its netdev in the pod under
 * `CNI_IFNAME`, and the IPAM plugin's addresses; a vfio-pci VF gets its link state and GUID; a
 * vfio-pci PF is recorded. Every kernel change is undone if a later one fails, and the attachment
 * is recorded, with the VF's original settings, before the first one, so DEL can finish the job
 * after a crash.
 *
 * @returns the result (prevResult's interfaces, then ours)
 * @throws {CniError} with the step, the input and the reason
 */
export const cmdAdd = withCniCodes(async (deps: Deps, req: CniRequest): Promise<Result> => {
  // 1. Everything that needs no device: config, version, ib-kubernetes gate, RDMA mode, and
  //    the device-info file (read now, so that a path that breaks a rule changes nothing).
  const conf = decodeNetConf(req);
  assertRepresentable(req.cniVersion, conf.ipam !== undefined);
  checkIbKubernetes(conf);
  if (conf.rdmaIsolation) assertRdmaExclusive(deps);
  const deviceInfo = readDeviceInfo(deps, conf);
  const prev = conf.prevResult === undefined ? emptyResult() : parseResult(conf.prevResult);
  const log = requestLogger(deps, req, conf);
  const { containerId, ifname, netns } = req.args;

  // 2. The namespaces. They are opened out here so that they outlive the rollback below.
  const pci = conf.deviceId!;
  const key = { containerId, ifname };
  using host = kernelStep("Cannot open the host netns", () => deps.netlink.hostNetns());
  using pod = openPodNetns(deps.netlink, netns);
  if (kernelStep("Cannot compare netns handles", () => deps.netlink.sameNetns(host, pod))) {
    throw netnsError(
      `CNI_NETNS ${quote(netns)} is the host's own network namespace`,
      { details: "the runtime must pass the pod sandbox's netns" },
    );
  }

  // 3. Lock the device and claim it: a device held by another live attachment is refused
  //    here, with the holder named, before anything else is looked at.
  using _lock = await deps.store.lock(pci, deps.lockTimeoutMs);
  deps.store.claimDevice(pci, { ...key, netns });
  const rollback = new Rollback(log);
  try {
    // 4. The device, and what the record says of any kind of device.
    const device = resolveDevice(deps.sysfs, pci, conf.vfioPciMode);
    requireAssignedGuid(conf, device);
    const settings = addSettings(conf, device);
    const common: RecordCommon = {
      version: 1,
      phase: "adding",
      ...key,
      netns,
      networkName: conf.name,
      cniVersion: req.cniVersion,
      deviceId: pci,
      ...(conf.pkey === undefined ? {} : { pkey: conf.pkey }),
      ...(settings.ipamType === undefined ? {} : { ipamType: settings.ipamType }),
      config: req.config,
    };
    // 5. Attach it; then the device-info file names the device as it now is, after any rebind
    //    or RDMA move; then mark the record complete.
    const attached = await attach(
      { deps, req, settings, host, pod, common, rollback, log },
      device,
    );
    if (deviceInfo !== null) {
      const info = attachedDeviceInfo(deps, device, attached.record);
      writeDeviceInfo(deps, deviceInfo, info, { log, rollback });
    }
    // A power cut that undoes this rewrite leaves the "adding" record, which DEL and GC treat
    // alike: its directory needs no fsync.
    attached.record.phase = "attached";
    deps.store.writeAttachment(attached.record, "contents");
    rollback.commit();
    return mergeResult(prev, attached);
  } catch (err) {
    throw await abandonAdd(deps, req, rollback, pci, key, err);
  }
});
