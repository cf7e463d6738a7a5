import type { CniRequest } from "../cni/dispatch.ts";
import type { NetConf } from "../config/load_net_conf.ts";
import { createLogger, type Logger } from "../log.ts";
import type { Deps } from "./deps.ts";

/**
 * Builds the request's logger: every record names the container, netns, ifname and device.
 *
 * @param deps the dependencies
 * @param req the request
 * @param conf the decoded config
 * @returns the logger
 */
export function requestLogger(deps: Deps, req: CniRequest, conf: NetConf): Logger {
  return createLogger(deps.log, conf.logLevel, {
    command: req.args.command,
    containerId: req.args.containerId,
    netns: req.args.netns,
    ifname: req.args.ifname,
    deviceID: conf.deviceId ?? "",
    ...(conf.pkey === undefined ? {} : { pkey: conf.pkey }),
  });
}
