import type { CniRequest } from "../cni/dispatch.ts";
import { CniError, CniErrorCode } from "../cni/errors.ts";
import { quote } from "../cni/quote.ts";
import {
  assertRepresentable,
  emptyResult,
  parseResult,
  type Result,
  type ResultInterface,
  type ResultRoute,
} from "../cni/result.ts";
import { loadNetConf, type NetConf } from "../config/load_net_conf.ts";
import type { LinkInfo, Netns } from "../netlink/netlink.ts";
import type { AttachmentRecord } from "../state/store.ts";
import type { Deps } from "./deps.ts";
import { callIpam } from "./ipam_call.ts";
import { requestLogger } from "./request_logger.ts";
import { kernelStep } from "./kernel_step.ts";
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
import { applyGuid, applyLinkState, planVfConfig } from "./vf_config.ts";
import { moveNetdevIntoPod, tempIfName } from "./vf_netdev.ts";

/** The annotation value ib-kubernetes sets once the GUID is in the partition. */
const IB_KUBERNETES_READY = "configured";

function checkIbKubernetes(conf: NetConf): void {
  if (!conf.ibKubernetesEnabled) return;
  const state = conf.argsCni["mellanox.infiniband.app"];
  if (state !== IB_KUBERNETES_READY) {
    throw new CniError(
      CniErrorCode.TryAgainLater,
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
function requireAssignedGuid(conf: NetConf, device: Device): void {
  if (!conf.ibKubernetesEnabled || device.kind === "vfio-pf" || conf.guid !== undefined) return;
  throw new CniError(
    CniErrorCode.InvalidNetworkConfig,
    "ibKubernetesEnabled is true but no GUID was given (runtimeConfig.infinibandGUID or " +
      "args.cni.guid): ib-kubernetes must assign the VF's GUID",
    {
      details: "ib-kubernetes writes the GUID into the pod's network annotation: as " +
        "infiniband-guid when the NAD declares capabilities.infinibandGUID, else as cni-args " +
        "guid; check that Multus passes it on",
    },
  );
}

/** Settings that do not apply to a PF passed through; logged, as ib-kubernetes may add a GUID. */
function warnIgnoredForPf(conf: NetConf, log: Logger): void {
  const ignored = [
    conf.guid === undefined ? null : conf.guidSource ?? "guid",
    conf.linkState === undefined ? null : "link_state",
    conf.ipam === undefined ? null : "ipam",
  ].filter((f) => f !== null);
  if (ignored.length > 0) {
    log.warning("settings ignored for a PF passed through with vfio-pci", {
      fields: ignored.join(","),
    });
  }
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
  conf: NetConf;
  host: Netns;
  pod: Netns;
  record: AttachmentRecord;
  rollback: Rollback;
  log: Logger;
}

/** The pod's view of what ADD attached: our interface and the IPAM plugin's addresses. */
interface Attached {
  iface: ResultInterface;
  ipam: Result;
}

/**
 * A netdev VF: settings through the PF, RDMA device and netdev into the pod, then IPAM.
 *
 * 1. The VF's netdev is in the host and `CNI_IFNAME` is free in the pod.
 * 2. Record what the VF had before, then link state; GUIDs and rebind (the netdev comes back
 *    under a new name and ifindex, found again by PCI address).
 * 3. RDMA device into the pod, before the netdev: moving it recreates the IPoIB netdev in the
 *    host, so the netdev is looked up again afterwards.
 * 4. The netdev into the pod under `CNI_IFNAME`; IPAM from the host namespace; addresses, up,
 *    routes.
 */
async function attachNetdevVf(c: AddContext, vf: NetdevVf): Promise<Attached> {
  const { deps, req, conf, host, pod, record, rollback } = c;
  const { ifname, netns } = req.args;
  const push = rollback.push.bind(rollback);
  // 1.
  const hostLink = kernelStep(
    `Cannot look up VF netdev ${quote(vf.netdev)}`,
    () => deps.netlink.linkByName(host, vf.netdev),
  );
  if (hostLink === null) {
    throw new CniError(
      CniErrorCode.DeviceError,
      `deviceID ${quote(vf.pci)}: its netdev ${quote(vf.netdev)} is not in the host netns`,
    );
  }
  const taken = kernelStep(
    `Cannot look up ${quote(ifname)} in netns ${quote(netns)}`,
    () => deps.netlink.linkByName(pod, ifname),
  );
  if (taken !== null) {
    throw new CniError(
      CniErrorCode.InvalidEnvironment,
      `CNI_IFNAME ${quote(ifname)} already exists in netns ${quote(netns)}`,
      { details: "the spec forbids replacing an interface the container already has" },
    );
  }
  // 2.
  const plan = planVfConfig(deps, host, conf, vf, hostLink);
  Object.assign(record, {
    pfName: vf.pfName,
    vfIndex: vf.vfIndex,
    driver: vf.driver,
    hostIfName: vf.netdev,
    hostIfAddress: hostLink.address,
    hostIfUp: hostLink.up,
    tempIfName: tempIfName(hostLink.index),
    original: plan.original,
    ...(conf.rdmaIsolation ? { rdmaDevice: rdmaDeviceOf(deps, vf.pci) } : {}),
  });
  deps.store.writeAttachment(record);
  const target = { ...record, pfName: vf.pfName, vfIndex: vf.vfIndex };
  applyLinkState(deps, host, target, plan, push);
  let link = await applyGuid(deps, host, target, plan, push) ?? hostLink;
  // 3.
  if (conf.rdmaIsolation) {
    const rdma = rdmaDeviceOf(deps, vf.pci);
    record.rdmaDevice = rdma;
    deps.store.writeAttachment(record);
    await moveRdmaDevice(deps, host, rdma, pod);
    push(`move RDMA device ${rdma} back to the host`, async () => {
      await returnRdmaToHost(deps, record, host, pod);
    });
    link = await waitForNetdev(deps, host, vf.pci);
  }
  if (link !== hostLink) {
    // The netdev was recreated: DEL must find it under its new names.
    record.hostIfAddress = link.address;
    record.tempIfName = tempIfName(link.index);
    deps.store.writeAttachment(record);
  }
  // 4.
  const inPod = moveNetdevIntoPod(deps.netlink, {
    host,
    pod,
    hostIfName: link.name,
    tempIfName: record.tempIfName!,
    podIfName: ifname,
  }, rollback);
  let ipam = emptyResult();
  if (conf.ipam !== undefined) {
    const ipamType = conf.ipam.type;
    const raw = await callIpam(deps, req, "ADD", ipamType);
    push(`release the IPAM lease (${ipamType} DEL)`, async () => {
      await callIpam(deps, req, "DEL", ipamType);
    });
    ipam = parseResult(raw);
    if (ipam.ips.length === 0) {
      throw new CniError(
        CniErrorCode.IpamError,
        `IPAM plugin ${quote(ipamType)} returned no IP addresses`,
      );
    }
  }
  configurePodInterface(deps, pod, inPod, ipam, ifname);
  c.log.info("attached", { hostIfName: vf.netdev, pf: vf.pfName, vf: vf.vfIndex });
  return {
    iface: { name: ifname, mac: inPod.address, mtu: inPod.mtu, sandbox: netns, pciID: vf.pci },
    ipam,
  };
}

/**
 * A VF bound to vfio-pci: its link state and GUID are set through the PF, without a rebind
 * (the guest's driver reads them when it starts); there is no netdev to move and no IPAM.
 */
async function attachVfioVf(c: AddContext, vf: VfioVf): Promise<Attached> {
  const { deps, conf, host, record, rollback } = c;
  const plan = planVfConfig(deps, host, conf, vf, null);
  Object.assign(record, { pfName: vf.pfName, vfIndex: vf.vfIndex, original: plan.original });
  deps.store.writeAttachment(record);
  const target = { ...record, pfName: vf.pfName, vfIndex: vf.vfIndex };
  const push = rollback.push.bind(rollback);
  applyLinkState(deps, host, target, plan, push);
  await applyGuid(deps, host, target, plan, push);
  c.log.info("attached", { pf: vf.pfName, vf: vf.vfIndex, driver: "vfio-pci" });
  return { iface: vfioInterface(c), ipam: emptyResult() };
}

/** The interface of a device handed over whole: it is in no netns, so only the PCI address. */
function vfioInterface(c: AddContext): ResultInterface {
  return { name: c.req.args.ifname, sandbox: c.req.args.netns, pciID: c.record.deviceId };
}

/**
 * ADD: attaches the device named by `deviceID` to the pod. A netdev VF gets its link state and
 * GUID through its PF, its RDMA device (with `rdmaIsolation`) and its netdev in the pod under
 * `CNI_IFNAME`, and the IPAM plugin's addresses; a vfio-pci VF gets its link state and GUID; a
 * vfio-pci PF is recorded. Every kernel change is undone if a later one fails, and the attachment
 * is recorded, with the VF's original settings, before the first one, so DEL can finish the job
 * after a crash.
 *
 * @param deps the dependencies
 * @param req the request
 * @returns the result (prevResult's interfaces, then ours)
 * @throws {CniError} with the step, the input and the reason
 */
export async function cmdAdd(deps: Deps, req: CniRequest): Promise<Result> {
  // 1. Everything that needs no device: config, version, ib-kubernetes gate, RDMA mode.
  const conf = loadNetConf(req.config, req.cniVersion, "ADD");
  assertRepresentable(req.cniVersion, conf.ipam !== undefined);
  checkIbKubernetes(conf);
  if (conf.rdmaIsolation) assertRdmaExclusive(deps);
  const prev = conf.prevResult === undefined ? emptyResult() : parseResult(conf.prevResult);
  const log = requestLogger(deps, req, conf);
  const { containerId, ifname, netns } = req.args;

  // 2. The namespaces. They are opened out here so that they outlive the rollback below.
  const pci = conf.deviceId!;
  const key = { containerId, ifname };
  using host = kernelStep("Cannot open the host netns", () => deps.netlink.hostNetns());
  using pod = openPodNetns(deps.netlink, netns);
  if (kernelStep("Cannot compare netns handles", () => deps.netlink.sameNetns(host, pod))) {
    throw new CniError(
      CniErrorCode.InvalidNetns,
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
    const device = resolveDevice(deps.sysfs, pci, conf.vfioPciMode);
    requireAssignedGuid(conf, device);
    const record: AttachmentRecord = {
      version: 1,
      phase: "adding",
      ...key,
      netns,
      networkName: conf.name,
      cniVersion: req.cniVersion,
      deviceId: pci,
      kind: device.kind,
      ...(conf.pkey === undefined ? {} : { pkey: conf.pkey }),
      ...(conf.ipam === undefined || device.kind !== "vf" ? {} : { ipamType: conf.ipam.type }),
      config: req.config,
    };
    const c: AddContext = { deps, req, conf, host, pod, record, rollback, log };
    let attached: Attached;
    if (device.kind === "vf") {
      attached = await attachNetdevVf(c, device);
    } else if (device.kind === "vfio-vf") {
      attached = await attachVfioVf(c, device);
    } else {
      warnIgnoredForPf(conf, log);
      attached = { iface: vfioInterface(c), ipam: emptyResult() };
    }

    record.phase = "attached";
    deps.store.writeAttachment(record);
    rollback.commit();

    const { iface, ipam } = attached;
    const index = prev.interfaces.length;
    return {
      interfaces: [...prev.interfaces, iface],
      ips: [...prev.ips, ...ipam.ips.map((ip) => ({ ...ip, interface: index }))],
      routes: [...prev.routes, ...ipam.routes],
      dns: Object.keys(ipam.dns).length > 0 ? ipam.dns : prev.dns,
    };
  } catch (err) {
    const failed = await rollback.unwind();
    // The record and the allocation outlive an incomplete rollback: they are what lets DEL (or
    // GC) finish the cleanup later.
    if (failed.length === 0) {
      deps.store.removeAttachment(key);
      deps.store.releaseDevice(pci, key);
    } else if (err instanceof CniError) {
      throw new CniError(err.code, err.message, {
        details: [err.details, `rollback incomplete: ${failed.join("; ")}; DEL will retry`].filter((
          d,
        ) => d).join("; "),
        cause: err,
      });
    }
    throw err;
  }
}
