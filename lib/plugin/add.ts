import type { CniRequest } from "../cni/dispatch.ts";
import { CniError, CniErrorCode } from "../cni/errors.ts";
import { quote } from "../cni/quote.ts";
import {
  assertRepresentable,
  emptyResult,
  parseResult,
  type Result,
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
import { resolveVf } from "./resolve_device.ts";
import { Rollback } from "./rollback.ts";
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
 * Refuses the InfiniBand settings this version cannot apply yet, rather than attaching a VF
 * with a GUID or state other than the one asked for.
 */
function refuseUnappliedSettings(conf: NetConf): void {
  const unapplied: [string, unknown][] = [
    [conf.guidSource ?? "guid", conf.guid],
    ["link_state", conf.linkState],
    ["rdmaIsolation", conf.rdmaIsolation || undefined],
    ["vfioPciMode", conf.vfioPciMode || undefined],
  ];
  const [field, value] = unapplied.find(([, v]) => v !== undefined) ?? [];
  if (field === undefined) return;
  throw new CniError(
    CniErrorCode.UnsupportedField,
    `${field} ${
      quote(value)
    } is not supported by this version of ib-sriov: it cannot set VF GUIDs, link state, RDMA isolation or vfio-pci passthrough yet`,
    { details: "remove the field to attach the VF with its current GUID and state" },
  );
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

/**
 * ADD: moves the VF named by `deviceID` into the pod under `CNI_IFNAME`, with the addresses of
 * the IPAM plugin. Every kernel change is undone if a later one fails; the attachment is recorded
 * before the first one, so DEL can finish the job after a crash.
 *
 * @param deps the dependencies
 * @param req the request
 * @returns the result (prevResult's interfaces, then ours)
 * @throws {CniError} with the step, the input and the reason
 */
export async function cmdAdd(deps: Deps, req: CniRequest): Promise<Result> {
  // 1. Everything that needs no kernel: config, version, ib-kubernetes gate, prevResult.
  const conf = loadNetConf(req.config, req.cniVersion, "ADD");
  assertRepresentable(req.cniVersion, conf.ipam !== undefined);
  checkIbKubernetes(conf);
  refuseUnappliedSettings(conf);
  const prev = conf.prevResult === undefined ? emptyResult() : parseResult(conf.prevResult);
  const log = requestLogger(deps, req, conf);
  const { containerId, ifname, netns } = req.args;

  // 2. The namespaces. They are opened out here so that they outlive the rollback below.
  const pci = conf.deviceId!;
  const key = { containerId, ifname };
  using host = kernelStep("Cannot open the host netns", () => deps.netlink.hostNetns());
  using pod = openPodNetns(deps.netlink, netns);

  // 3. Lock the VF and claim it: a VF held by another live attachment is refused here, with
  //    the holder named, before anything else is looked at.
  using _lock = await deps.store.lock(pci, deps.lockTimeoutMs);
  deps.store.claimDevice(pci, { ...key, netns });
  const rollback = new Rollback(log);
  try {
    // 4. The device, and the name the pod must not have yet.
    const vf = resolveVf(deps.sysfs, pci);
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

    // 5. Record the attachment before the first kernel change, so DEL can finish after a crash.
    const record: AttachmentRecord = {
      version: 1,
      phase: "adding",
      ...key,
      netns,
      networkName: conf.name,
      cniVersion: req.cniVersion,
      deviceId: vf.pci,
      pfName: vf.pfName,
      vfIndex: vf.vfIndex,
      hostIfName: vf.netdev,
      hostIfAddress: hostLink.address,
      hostIfUp: hostLink.up,
      tempIfName: tempIfName(hostLink.index),
      ...(conf.ipam === undefined ? {} : { ipamType: conf.ipam.type }),
      config: req.config,
    };
    deps.store.writeAttachment(record);

    // 6. The netdev into the pod.
    const link = moveNetdevIntoPod(deps.netlink, {
      host,
      pod,
      hostIfName: vf.netdev,
      tempIfName: record.tempIfName!,
      podIfName: ifname,
    }, rollback);

    // 7. IPAM from the host namespace, then the pod interface's addresses, state and routes.
    let ipam = emptyResult();
    if (conf.ipam !== undefined) {
      const ipamType = conf.ipam.type;
      const raw = await callIpam(deps, req, "ADD", ipamType);
      rollback.push(`release the IPAM lease (${ipamType} DEL)`, async () => {
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
    configurePodInterface(deps, pod, link, ipam, ifname);

    record.phase = "attached";
    deps.store.writeAttachment(record);
    rollback.commit();
    log.info("attached", { hostIfName: vf.netdev, pf: vf.pfName, vf: vf.vfIndex });

    const index = prev.interfaces.length;
    return {
      interfaces: [...prev.interfaces, {
        name: ifname,
        mac: link.address,
        mtu: link.mtu,
        sandbox: netns,
        pciID: vf.pci,
      }],
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
