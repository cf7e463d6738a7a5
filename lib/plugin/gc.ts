import { errorMessage } from "../error_message.ts";
import type { CniRequest } from "../cni/dispatch.ts";
import { CniError, CniErrorCode } from "../cni/errors.ts";
import { loadNetConf } from "../config/load_net_conf.ts";
import { requestLogger } from "./request_logger.ts";
import { releaseAttachment } from "./del.ts";
import type { Deps } from "./deps.ts";
import { withCniCodes } from "./to_cni_error.ts";
import { callIpam } from "./ipam_call.ts";
import type { AttachmentRecord } from "../state/store.ts";

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
 * Releases a stale attachment's IPAM lease with the DEL its runtime never sent: the config it was
 * added with, under its own container ID, interface and netns. IPAM plugins that predate CNI 1.1
 * ignore the GC forwarded afterwards, so this is what frees their leases.
 */
async function releaseLease(deps: Deps, req: CniRequest, record: AttachmentRecord): Promise<void> {
  if (record.ipamType === undefined) return;
  const config = isObject(record.config) ? record.config : req.config;
  const del: CniRequest = {
    ...req,
    args: {
      ...req.args,
      command: "DEL",
      containerId: record.containerId,
      ifname: record.ifname,
      netns: record.netns,
    },
    config,
    stdin: new TextEncoder().encode(JSON.stringify(config)),
  };
  await callIpam(deps, del, "DEL", record.ipamType);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The work of {@link cmdGc}, which gives its state errors their CNI codes. */
async function gcCommand(deps: Deps, req: CniRequest): Promise<void> {
  const conf = loadNetConf(req.config, req.cniVersion, "GC");
  const log = requestLogger(deps, req, conf);
  const valid = validAttachments(req.config);
  const failures: string[] = [];
  for (const record of deps.store.listAttachments()) {
    if (record.networkName !== conf.name || valid.has(`${record.containerId}\0${record.ifname}`)) {
      continue;
    }
    try {
      await releaseLease(deps, req, record);
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
