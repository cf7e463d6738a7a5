import { errorMessage } from "../error_message.ts";
import type { CniRequest } from "../cni/dispatch.ts";
import { decodeNetConf } from "../config/load_net_conf.ts";
import { isRecord } from "../is_record.ts";
import { requestLogger } from "./request_logger.ts";
import { completeFromRequest, releaseAttachment } from "./del.ts";
import type { Deps } from "./deps.ts";
import { configError, kernelError, withCniCodes } from "./to_cni_error.ts";
import { callIpam } from "./ipam_call.ts";
import { releaseLease } from "./lease_release.ts";

function attachmentKey(containerId: string, ifname: string): string {
  return `${containerId}\0${ifname}`;
}

/**
 * The runtime's `cni.dev/valid-attachments`: the attachments GC must keep. A list GC cannot read
 * is refused rather than read as empty, which would release every attachment of the network.
 * Absent, it is the empty list the specification's runtimes never send.
 *
 * @throws {CniError} code 7 naming the first entry that is not `{"containerID", "ifname"}` strings
 */
function validAttachments(config: Record<string, unknown>): Set<string> {
  const field = "cni.dev/valid-attachments";
  const list = config[field] ?? [];
  if (!Array.isArray(list)) {
    throw configError(`${field} is not a list of attachments: GC cannot tell which to keep`);
  }
  const out = new Set<string>();
  for (const [i, a] of list.entries()) {
    const { containerID, ifname } = isRecord(a) ? a : {};
    if (typeof containerID !== "string" || typeof ifname !== "string") {
      throw configError(
        `${field}[${i}] is not an attachment: it needs string "containerID" and "ifname"`,
      );
    }
    out.add(attachmentKey(containerID, ifname));
  }
  return out;
}

/**
 * GC: releases every attachment of this network that is not in `cni.dev/valid-attachments`, as
 * DEL would (IPAM lease, then the device wherever it is now, with its GUIDs, link state and RDMA
 * device restored), continuing past failures, then forwards GC to the IPAM plugin. The record of a
 * VF found nowhere stays (a Go plugin cache names no netns to look in).
 *
 * @throws {CniError} the IPAM plugin's error when only its GC failed; else code 101 listing every
 *   attachment that could not be released, and the IPAM plugin's GC error
 */
export const cmdGc = withCniCodes(async (deps: Deps, req: CniRequest): Promise<void> => {
  // A config that broke a rule GC can do without still names its network (see dispatch.ts).
  const conf = req.configProblem === undefined ? decodeNetConf(req) : null;
  const log = requestLogger(deps, req, conf);
  if (req.configProblem !== undefined) {
    log.warning("GC config is invalid; releasing from the attachment records without IPAM GC", {
      error: req.configProblem.message,
    });
  }
  const valid = validAttachments(req.config);
  const network = conf?.name ?? String(req.config["name"]);
  const failures: string[] = [];
  for (const listed of deps.store.listAttachments()) {
    const record = completeFromRequest(listed, conf);
    if (
      record.networkName !== network || valid.has(attachmentKey(record.containerId, record.ifname))
    ) {
      continue;
    }
    try {
      // The DEL its runtime never sent, under the record's own container ID, interface and netns:
      // IPAM plugins that predate CNI 1.1 ignore the GC forwarded afterwards.
      const { containerId, ifname, netns } = record;
      const args = { ...req.args, command: "DEL" as const, containerId, ifname, netns };
      await releaseLease(deps, req, record, args, log);
      await releaseAttachment(deps, record, record.netns, log, true);
    } catch (err) {
      failures.push(
        `${record.containerId}/${record.ifname}: ${errorMessage(err)}`,
      );
    }
  }
  // After the releases: a delegate that predates CNI 1.1 refuses GC (host-local 1.1.1:
  // "missing containerID"), and that must not keep a lease of ours taken.
  const ipamGc = conf?.ipam === undefined
    ? null
    : await callIpam(deps, req, "GC", conf.ipam.type).then(() => null, (err: unknown) => err);
  if (failures.length > 0) {
    const also = ipamGc === null ? [] : [errorMessage(ipamGc)];
    throw kernelError(
      `GC could not release ${failures.length} attachment(s)`,
      { details: [...failures, ...also].join("; ") },
    );
  }
  if (ipamGc !== null) throw ipamGc;
});
