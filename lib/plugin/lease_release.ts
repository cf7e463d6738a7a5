import type { CniRequest } from "../cni/dispatch.ts";
import type { CmdArgs } from "../cni/env.ts";
import { isRecord } from "../is_record.ts";
import type { Logger } from "../log.ts";
import type { AttachmentRecord } from "../state/store.ts";
import type { Deps } from "./deps.ts";
import { callIpam } from "./ipam_call.ts";

/** What a lease is released with, and why not with the runtime's own config. */
interface LeaseRelease {
  /** The IPAM DEL's request: its environment and the config on its stdin. */
  req: CniRequest;
  /**
   * `null` when the runtime's config is used; `invalid`, `differs` or `gc` when the config
   * the ADD recorded is used instead.
   */
  recorded: "invalid" | "differs" | "gc" | null;
}

/**
 * Whether two values decoded from JSON are equal: arrays item by item, objects key by key in any
 * order. Not node:util's isDeepStrictEqual: a static node: import is hoisted into the bundle's
 * start and loads Deno's Node layer for every plugin run (~5 ms).
 */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
      a.every((item, i) => jsonEqual(item, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length &&
    keys.every((k) => Object.hasOwn(y, k) && jsonEqual(x[k], y[k]));
}

/** The fields an IPAM plugin keys its leases by: the network's name and its `ipam` object. */
function sameLeaseKey(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return a["name"] === b["name"] && jsonEqual(a["ipam"], b["ipam"]);
}

/**
 * Chooses the config an attachment's IPAM DEL gets on stdin. libcni gives a delegate the
 * plugin's own config, and so does this when it can; but the lease was taken with the ADD's
 * config, which the record holds. That one is used when the runtime's config broke a rule
 * (`invalid`), names another network or IPAM config than the ADD's (`differs`), or is a GC's
 * (`gc`). A record without the ADD's config (older records, the Go plugin's cache) falls back to
 * the runtime's config when it is usable, with the record's `cniVersion` for GC.
 *
 * @param args the IPAM DEL's environment: the record's container, interface and netns for GC
 * @returns the IPAM DEL to run, or `null` when there is no usable config for it
 */
export function chooseRelease(
  req: CniRequest,
  record: AttachmentRecord,
  args: CmdArgs,
): LeaseRelease | null {
  const own = req.configProblem === undefined ? req.config : null;
  const gc = req.args.command === "GC";
  const added = isRecord(record.config) ? record.config : null;
  if (own !== null && !gc && (added === null || sameLeaseKey(own, added))) {
    return { req: { ...req, args }, recorded: null };
  }
  let config = added ?? own;
  if (config === null) return null;
  // A GC's own config is in CNI 1.1, which an IPAM plugin that predates it refuses (host-local
  // 1.1.1: "incompatible CNI versions"): the DEL goes in the version of the attachment's ADD.
  if (added === null && gc && record.cniVersion !== "") {
    config = { ...config, cniVersion: record.cniVersion };
  }
  return {
    req: { ...req, args, config, stdin: new TextEncoder().encode(JSON.stringify(config)) },
    recorded: added === null ? null : gc ? "gc" : own === null ? "invalid" : "differs",
  };
}

/**
 * Releases a recorded attachment's IPAM lease with the IPAM plugin's DEL, with the config
 * `chooseRelease()` picks. A record without `ipamType` made no IPAM call (a vfio-pci device): it
 * has no lease. One without a usable config gets a warning: failing would make DEL fail forever.
 *
 * @throws {CniError} with the IPAM plugin's code when its DEL fails
 */
export async function releaseLease(
  deps: Deps,
  req: CniRequest,
  record: AttachmentRecord,
  args: CmdArgs,
  log: Logger,
): Promise<void> {
  if (record.ipamType === undefined) return;
  const release = chooseRelease(req, record, args);
  const { containerId, ifname } = record;
  if (release === null) {
    log.warning("no usable IPAM config (the record predates it); the lease is not released", {
      containerId,
      ifname,
      ipam: record.ipamType,
    });
    return;
  }
  if (release.recorded === "differs") {
    log.warning("DEL config names another network or IPAM config than the ADD's; using the ADD's");
  }
  await callIpam(deps, release.req, "DEL", record.ipamType);
}
