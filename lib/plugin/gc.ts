import { errorMessage } from "../error_message.ts";
import type { CniRequest } from "../cni/dispatch.ts";
import { CniError, CniErrorCode } from "../cni/errors.ts";
import { loadNetConf } from "../config/load_net_conf.ts";
import { requestLogger } from "./request_logger.ts";
import { releaseAttachment } from "./del.ts";
import type { Deps } from "./deps.ts";
import { withCniCodes } from "./to_cni_error.ts";
import { callIpam } from "./ipam_call.ts";
import { releaseLease } from "./lease_release.ts";

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

/** The work of {@link cmdGc}, which gives its state errors their CNI codes. */
async function gcCommand(deps: Deps, req: CniRequest): Promise<void> {
  // A config that broke a rule GC can do without still names its network (see dispatch.ts).
  const conf = req.configProblem === undefined
    ? loadNetConf(req.config, req.cniVersion, "GC")
    : null;
  const log = requestLogger(deps, req, conf);
  if (req.configProblem !== undefined) {
    log.warning("GC config is invalid; releasing from the attachment records without IPAM GC", {
      error: req.configProblem.message,
    });
  }
  const network = conf?.name ?? String(req.config["name"]);
  const valid = validAttachments(req.config);
  const failures: string[] = [];
  for (const record of deps.store.listAttachments()) {
    if (record.networkName !== network || valid.has(`${record.containerId}\0${record.ifname}`)) {
      continue;
    }
    try {
      // The DEL its runtime never sent, under the record's own container ID, interface and netns:
      // IPAM plugins that predate CNI 1.1 ignore the GC forwarded afterwards.
      const { containerId, ifname, netns } = record;
      const args = { ...req.args, command: "DEL" as const, containerId, ifname, netns };
      await releaseLease(deps, req, record, args, log);
      await releaseAttachment(deps, record, record.netns, log);
    } catch (err) {
      failures.push(
        `${record.containerId}/${record.ifname}: ${errorMessage(err)}`,
      );
    }
  }
  if (conf?.ipam !== undefined) await callIpam(deps, req, "GC", conf.ipam.type);
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

/**
 * GC: releases every attachment of this network that is not in `cni.dev/valid-attachments`, as
 * DEL would (IPAM lease, then the device wherever it is now, with its GUIDs, link state and RDMA
 * device restored), continuing past failures, then forwards GC to the IPAM plugin.
 *
 * @param deps the dependencies
 * @param req the request
 * @throws {CniError} code 101 listing every attachment that could not be released
 */
export function cmdGc(deps: Deps, req: CniRequest): Promise<void> {
  return withCniCodes(() => gcCommand(deps, req));
}
