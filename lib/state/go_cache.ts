import type { AttachmentKey, AttachmentRecord } from "./store.ts";
import { StateError } from "./state_error.ts";

/** Keys only the Go plugin writes; one of them (or a PluginConf key) marks a Go cache file. */
const GO_KEYS = ["cniVersion", "name", "type", "ipam", "deviceID", "Master", "HostIFNames"];

/**
 * Tells whether a parsed cache file looks like one the Go ib-sriov-cni wrote: a JSON object
 * without our `version` key that has at least one key the Go plugin always writes. Files from
 * before its 2025-07 MarshalJSON fix hold only `cniVersion`/`name`/`type`/`ipam`.
 *
 * @param raw the parsed JSON
 * @returns whether {@link fromGoCache} should read it
 */
export function isGoCache(raw: unknown): raw is Record<string, unknown> {
  if (!isObject(raw) || "version" in raw) return false;
  return GO_KEYS.some((key) => key in raw);
}

/**
 * Maps the Go plugin's cache file (`/var/lib/cni/ib-sriov/<containerId>-<ifname>`) into an
 * {@link AttachmentRecord}, so that DEL after an upgrade undoes what the Go plugin did.
 * Missing fields stay unset (old files have none of the device keys); a field of the wrong
 * type means the file is not the Go plugin's and is reported as corrupt.
 *
 * Mapping choices, each reproducing what the Go plugin's own DEL would do:
 * - `phase` is `attached` (Go wrote its cache only after a complete ADD) and `netns` is `""`
 *   (Go never cached it);
 * - `original.nodeGuid` and `original.portGuid` both come from `HostIFGUID`, the GUID Go read
 *   before ADD and writes back to both on DEL;
 * - `link_state` is the state Go *set*, not the one it found; its DEL resets a touched VF to
 *   `auto`, so a non-empty `link_state` maps to `original.linkState: "auto"`;
 * - `kind` is `vfio-vf` (or `vfio-pf` without `Master`) for `vfioPciMode` records;
 * - `ipamType` is left unset for `vfioPciMode` records, because Go skips IPAM DEL for them;
 * - `rdmaDevice` comes from `RdmaNetState.containerRdmaDevName` when `rdmaIsolation` is set;
 * - `config` is left unset: Go cached only `ipam.type`, too little for an IPAM DEL.
 *
 * @param raw a parsed cache file for which {@link isGoCache} is true
 * @param key the attachment the file belongs to (from its name)
 * @param path the file, for error messages
 * @returns the equivalent record
 * @throws {StateError} code `corrupt` when a known field has the wrong type
 */
export function fromGoCache(
  raw: Record<string, unknown>,
  key: AttachmentKey,
  path: string,
): AttachmentRecord {
  const field = fieldReader(raw, path);
  const record: AttachmentRecord = {
    version: 1,
    phase: "attached",
    containerId: key.containerId,
    ifname: key.ifname,
    netns: "",
    networkName: field.str("name") ?? "",
    cniVersion: field.str("cniVersion") ?? "",
    deviceId: field.str("deviceID") ?? "",
  };
  const master = field.str("Master");
  if (master !== undefined && master !== "") {
    record.pfName = master;
    const vfId = raw["VFID"];
    if (vfId !== undefined) {
      if (typeof vfId !== "number" || !Number.isInteger(vfId) || vfId < 0) {
        throw corrupt(path, "VFID", vfId);
      }
      record.vfIndex = vfId;
    }
  }
  const hostIfName = field.str("HostIFNames");
  if (hostIfName !== undefined && hostIfName !== "") record.hostIfName = hostIfName;

  const vfio = field.bool("vfioPciMode") ?? false;
  // Go records a PF passthrough without `Master`: only VFs have one.
  if (vfio) record.kind = record.pfName === undefined ? "vfio-pf" : "vfio-vf";
  const ipam = raw["ipam"];
  if (ipam !== undefined && ipam !== null) {
    if (!isObject(ipam)) throw corrupt(path, "ipam", ipam);
    const ipamType = fieldReader(ipam, path).str("type");
    if (ipamType !== undefined && ipamType !== "" && !vfio) record.ipamType = ipamType;
  }

  const original: NonNullable<AttachmentRecord["original"]> = {};
  const guid = field.str("HostIFGUID");
  if (guid !== undefined && guid !== "") {
    original.nodeGuid = guid;
    original.portGuid = guid;
  }
  const linkState = field.str("link_state");
  if (linkState !== undefined && linkState !== "") original.linkState = "auto";
  if (Object.keys(original).length > 0) record.original = original;

  if (field.bool("rdmaIsolation") === true) {
    const state = raw["RdmaNetState"];
    if (state !== undefined && state !== null) {
      if (!isObject(state)) throw corrupt(path, "RdmaNetState", state);
      const dev = fieldReader(state, path).str("containerRdmaDevName");
      if (dev !== undefined && dev !== "") record.rdmaDevice = dev;
    }
  }
  return record;
}

/** Typed access to optional fields of a JSON object; a present field of the wrong type throws. */
function fieldReader(obj: Record<string, unknown>, path: string) {
  return {
    str(name: string): string | undefined {
      const value = obj[name];
      if (value === undefined || value === null) return undefined;
      if (typeof value !== "string") throw corrupt(path, name, value);
      return value;
    },
    bool(name: string): boolean | undefined {
      const value = obj[name];
      if (value === undefined || value === null) return undefined;
      if (typeof value !== "boolean") throw corrupt(path, name, value);
      return value;
    },
  };
}

function corrupt(path: string, name: string, value: unknown): StateError {
  return new StateError(
    "corrupt",
    path,
    `Cannot read Go cache file "${path}": field "${name}" has type ${typeof value}`,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
