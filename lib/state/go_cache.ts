import * as z from "zod/mini";
import type { AttachmentKey, AttachmentRecord, OriginalVfSettings } from "./attachment_record.ts";
import { StateError } from "./state_error.ts";
import { lazy } from "../lazy.ts";

/** Keys only the Go plugin writes; one of them (or a PluginConf key) marks a Go cache file. */
const GO_KEYS = ["cniVersion", "name", "type", "ipam", "deviceID", "Master", "HostIFNames"];

/**
 * The fields of the Go plugin's cache file that its DEL used (upstream-behavior.md section 5).
 * Every one may be missing: files from before its 2025-07 MarshalJSON fix hold only the
 * PluginConf keys. Other keys are ignored.
 */
const goCacheSchema = lazy(() => {
  /** A string the Go plugin may have left out or written as `null`: both mean unset. */
  const goString = z.optional(z.nullable(z.string()));
  const goBool = z.optional(z.nullable(z.boolean()));
  return z.object({
    name: goString,
    cniVersion: goString,
    deviceID: goString,
    Master: goString,
    VFID: z.optional(z.int()),
    HostIFNames: goString,
    HostIFGUID: goString,
    link_state: goString,
    vfioPciMode: goBool,
    rdmaIsolation: goBool,
    ipam: z.optional(z.nullable(z.object({ type: goString }))),
    RdmaNetState: z.optional(z.nullable(z.object({ containerRdmaDevName: goString }))),
  });
});

/** The Go cache file, decoded. */
type GoCache = z.output<ReturnType<typeof goCacheSchema>>;

/**
 * Tells whether a parsed cache file looks like one the Go ib-sriov-cni wrote: a JSON object
 * without our `version` key that has at least one key the Go plugin always writes. Files from
 * before its 2025-07 MarshalJSON fix hold only `cniVersion`/`name`/`type`/`ipam`.
 *
 * @param raw the parsed JSON
 * @returns whether {@link fromGoCache} should read it
 */
export function isGoCache(raw: unknown): raw is Record<string, unknown> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw) || "version" in raw) {
    return false;
  }
  return GO_KEYS.some((key) => key in raw);
}

/**
 * Reads the Go plugin's cache file (`/var/lib/cni/ib-sriov/<containerId>-<ifname>`) as an
 * {@link AttachmentRecord}, so that DEL after an upgrade undoes what the Go plugin did.
 * Missing fields stay unset (old files have none of the device keys); a field of the wrong
 * type means the file is not the Go plugin's and is reported as corrupt.
 *
 * @param raw a parsed cache file for which {@link isGoCache} is true
 * @param path the file, for error messages
 * @param key the attachment the file belongs to (from its name)
 * @returns the equivalent record
 * @throws {StateError} code `corrupt` when a known field has the wrong type
 */
export function fromGoCache(
  raw: Record<string, unknown>,
  key: AttachmentKey,
  path: string,
): AttachmentRecord {
  const parsed = goCacheSchema().safeParse(raw, {
    error: (iss) => `field "${String(iss.path?.at(-1))}" has type ${typeof iss.input}`,
  });
  if (!parsed.success) throw corrupt(path, parsed.error.issues[0]?.message ?? "");
  const go = parsed.data;
  // VFID is an index only for a VF, which Go records with its PF's netdev in `Master`.
  if (go.Master && go.VFID !== undefined && go.VFID < 0) {
    throw corrupt(path, `field "VFID" has type number`);
  }
  return toRecord(go, key);
}

/**
 * Maps the decoded Go cache file to our record. Each choice reproduces what the Go plugin's own
 * DEL would do:
 * - `phase` is `attached` (Go wrote its cache only after a complete ADD) and `netns` is `""`
 *   (Go never cached it);
 * - `kind` is `vfio-vf` (or `vfio-pf` without `Master`: only VFs have one) for `vfioPciMode`
 *   records, else `vf`;
 * - `original.nodeGuid` and `original.portGuid` both come from `HostIFGUID`, the GUID Go read
 *   before ADD and writes back to both on DEL;
 * - `link_state` is the state Go *set*, not the one it found; its DEL resets a touched VF to
 *   `auto`, so a non-empty `link_state` maps to `original.linkState: "auto"`;
 * - `ipamType` is left unset for `vfioPciMode` records, because Go skips IPAM DEL for them;
 * - `rdmaDevice` comes from `RdmaNetState.containerRdmaDevName` when `rdmaIsolation` is set;
 * - `config` is left unset: Go cached only `ipam.type`, too little for an IPAM DEL.
 */
function toRecord(go: GoCache, key: AttachmentKey): AttachmentRecord {
  const common = {
    version: 1 as const,
    phase: "attached" as const,
    containerId: key.containerId,
    ifname: key.ifname,
    netns: "",
    networkName: go.name ?? "",
    cniVersion: go.cniVersion ?? "",
    deviceId: go.deviceID ?? "",
  };
  if (go.vfioPciMode && !go.Master) return { kind: "vfio-pf", ...common };
  const vf = {
    ...common,
    ...(go.Master ? { pfName: go.Master } : {}),
    ...(go.Master && go.VFID !== undefined ? { vfIndex: go.VFID } : {}),
  };
  const original: OriginalVfSettings = {};
  if (go.HostIFGUID) {
    original.nodeGuid = go.HostIFGUID;
    original.portGuid = go.HostIFGUID;
  }
  if (go.link_state) original.linkState = "auto";
  const settings = Object.keys(original).length > 0 ? { original } : {};
  if (go.vfioPciMode) return { kind: "vfio-vf", ...vf, ...settings };
  const rdmaDevice = go.rdmaIsolation ? go.RdmaNetState?.containerRdmaDevName : undefined;
  return {
    kind: "vf",
    ...vf,
    ...(go.HostIFNames ? { hostIfName: go.HostIFNames } : {}),
    ...(go.ipam?.type ? { ipamType: go.ipam.type } : {}),
    ...settings,
    ...(rdmaDevice ? { rdmaDevice } : {}),
  };
}

function corrupt(path: string, what: string): StateError {
  return new StateError("corrupt", path, `Cannot read Go cache file "${path}": ${what}`);
}
