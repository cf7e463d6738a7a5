import { errorMessage } from "../error_message.ts";
import type { CniRequest } from "../cni/dispatch.ts";
import { CniError, CniErrorCode } from "../cni/errors.ts";
import { loadNetConf } from "../config/load_net_conf.ts";
import { requestLogger } from "./request_logger.ts";
import { releaseAttachment } from "./del.ts";
import type { Deps } from "./deps.ts";
import { callIpam } from "./ipam_call.ts";

function validAttachments(config: Record<string, unknown>): Set<string> {
  const list = config["cni.dev/valid-attachments"];
  const out = new Set<string>();
  if (!Array.isArray(list)) return out;
  for (const a of list) {
    if (typeof a === "object" && a !== null) {
      const { containerID, ifname } = a as Record<string, unknown>;
      if (typeof containerID === "string" && typeof ifname === "string") {
        out.add(`${containerID}\0${ifname}`);
      }
    }
  }
  return out;
}

/**
 * GC: releases every attachment of this network that is not in `cni.dev/valid-attachments`,
 * continuing past failures, then forwards GC to the IPAM plugin.
 *
 * @param deps the dependencies
 * @param req the request
 * @throws {CniError} code 101 listing every attachment that could not be released
 */
export async function cmdGc(deps: Deps, req: CniRequest): Promise<void> {
  const conf = loadNetConf(req.config, req.cniVersion, "GC");
  const log = requestLogger(deps, req, conf);
  const valid = validAttachments(req.config);
  const failures: string[] = [];
  for (const record of deps.store.listAttachments()) {
    if (record.networkName !== conf.name || valid.has(`${record.containerId}\0${record.ifname}`)) {
      continue;
    }
    try {
      await releaseAttachment(deps, record, record.netns, log);
    } catch (err) {
      failures.push(
        `${record.containerId}/${record.ifname}: ${errorMessage(err)}`,
      );
    }
  }
  if (conf.ipam !== undefined) await callIpam(deps, req, "GC", conf.ipam.type);
  if (failures.length > 0) {
    throw new CniError(
      CniErrorCode.KernelError,
      `GC could not release ${failures.length} attachment(s)`,
      {
        details: failures.join("; "),
      },
    );
  }
}
