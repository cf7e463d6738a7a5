import type { CniRequest } from "../cni/dispatch.ts";
import { CniError, CniErrorCode } from "../cni/errors.ts";
import { quote } from "../cni/quote.ts";
import { parseResult } from "../cni/result.ts";
import { loadNetConf } from "../config/load_net_conf.ts";
import type { Deps } from "./deps.ts";
import { callIpam } from "./ipam_call.ts";
import { kernelStep } from "./kernel_step.ts";
import { openPodNetns } from "./pod_netns.ts";

function broken(msg: string): CniError {
  return new CniError(CniErrorCode.CheckFailed, msg);
}

/**
 * CHECK: the attachment exists, its interface is in the pod and up, carries the addresses and
 * routes of `prevResult`, and the IPAM plugin's own CHECK passes.
 *
 * @param deps the dependencies
 * @param req the request
 * @throws {CniError} code 104 naming what is missing, 3 when there is no such attachment
 */
export async function cmdCheck(deps: Deps, req: CniRequest): Promise<void> {
  const conf = loadNetConf(req.config, req.cniVersion, "CHECK");
  const { containerId, ifname, netns } = req.args;
  const record = deps.store.readAttachment(req.args);
  if (record === null) {
    throw new CniError(
      CniErrorCode.UnknownContainer,
      `no attachment of container ${quote(containerId)} interface ${
        quote(ifname)
      }: ADD did not run or DEL already did`,
    );
  }
  if (record.deviceId !== conf.deviceId) {
    throw broken(
      `deviceID ${quote(conf.deviceId)} differs from the attached VF ${quote(record.deviceId)}`,
    );
  }
  {
    using pod = openPodNetns(deps.netlink, netns);
    const link = kernelStep(
      `Cannot look up ${quote(ifname)} in netns ${quote(netns)}`,
      () => deps.netlink.linkByName(pod, ifname),
    );
    if (link === null) {
      throw broken(`interface ${quote(ifname)} is missing from netns ${quote(netns)}`);
    }
    if (!link.up) throw broken(`interface ${quote(ifname)} in netns ${quote(netns)} is down`);
    if (conf.prevResult !== undefined) {
      const prev = parseResult(conf.prevResult);
      const ours = prev.interfaces.findIndex((i) =>
        i.name === ifname && (i.sandbox ?? netns) === netns
      );
      const addresses = kernelStep(
        `Cannot list addresses of ${quote(ifname)}`,
        () => deps.netlink.listAddresses(pod, link.index),
      );
      for (const ip of prev.ips.filter((ip) => ip.interface === ours)) {
        if (!addresses.includes(ip.address)) {
          throw broken(
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
          throw broken(
            `route ${quote(route.dst)}${
              route.gw ? ` via ${quote(route.gw)}` : ""
            } of prevResult is missing`,
          );
        }
      }
    }
  }
  if (conf.ipam !== undefined) await callIpam(deps, req, "CHECK", conf.ipam.type);
}
