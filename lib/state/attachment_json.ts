import { basename } from "../path.ts";
import type { AttachmentKey, AttachmentRecord } from "./store.ts";
import { fromGoCache, isGoCache } from "./go_cache.ts";
import { StateError } from "./state_error.ts";

const PHASES: ReadonlySet<string> = new Set(["adding", "attached"]);
const LINK_STATES: ReadonlySet<string> = new Set(["auto", "enable", "disable"]);
const REQUIRED_STRINGS = [
  "containerId",
  "ifname",
  "netns",
  "networkName",
  "cniVersion",
  "deviceId",
] as const;
const OPTIONAL_STRINGS = [
  "pfName",
  "hostIfName",
  "hostIfAddress",
  "tempIfName",
  "ipamType",
  "rdmaDevice",
  "driver",
  "pkey",
] as const;
const KINDS: ReadonlySet<string> = new Set(["vf", "vfio-vf", "vfio-pf"]);

/**
 * Decodes an attachment cache file: our format (`"version": 1`) or the Go plugin's (see
 * `go_cache.ts`). Our records must name the attachment their file is named after, so a file
 * copied or renamed by hand cannot make DEL undo another container's device. Keys this version
 * does not know are kept.
 *
 * @param text the file's contents
 * @param path the file, for error messages
 * @param key the attachment the caller asked for; `null` when listing, in which case the key
 *   comes from the record (ours) or from the file name `<containerId>-<ifname>` (Go's: the
 *   `ifname` is `ContIFNames` when the name ends with it, else the text after the last `-`)
 * @returns the record
 * @throws {StateError} code `corrupt` when the text is not JSON or not a record of either format
 */
export function decodeAttachment(
  text: string,
  path: string,
  key: AttachmentKey | null,
): AttachmentRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new StateError("corrupt", path, `Cannot parse attachment record "${path}": not JSON`, {
      cause: err,
    });
  }
  const fileName = basename(path);
  if (isGoCache(raw)) return fromGoCache(raw, key ?? goKey(fileName, raw), path);
  const record = decodeOwn(raw, path);
  if (`${record.containerId}-${record.ifname}` !== fileName) {
    throw new StateError(
      "corrupt",
      path,
      `Attachment record "${path}" names container "${record.containerId}" ` +
        `interface "${record.ifname}", not its own file name`,
    );
  }
  return record;
}

/** Validates the fields of our own format that this version knows. */
function decodeOwn(raw: unknown, path: string): AttachmentRecord {
  const bad = (what: string) =>
    new StateError("corrupt", path, `Cannot read attachment record "${path}": ${what}`);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw bad("not a JSON object");
  }
  const obj = raw as Record<string, unknown>;
  if (obj["version"] !== 1) throw bad(`unknown version ${JSON.stringify(obj["version"])}`);
  const phase = obj["phase"];
  if (typeof phase !== "string" || !PHASES.has(phase)) {
    throw bad(`invalid phase ${JSON.stringify(phase)}`);
  }
  for (const name of REQUIRED_STRINGS) {
    if (typeof obj[name] !== "string") throw bad(`field "${name}" is not a string`);
  }
  for (const name of OPTIONAL_STRINGS) {
    if (obj[name] !== undefined && typeof obj[name] !== "string") {
      throw bad(`field "${name}" is not a string`);
    }
  }
  if (obj["hostIfUp"] !== undefined && typeof obj["hostIfUp"] !== "boolean") {
    throw bad(`field "hostIfUp" is not a boolean`);
  }
  const kind = obj["kind"];
  if (kind !== undefined && (typeof kind !== "string" || !KINDS.has(kind))) {
    throw bad(`invalid kind ${JSON.stringify(kind)}`);
  }
  const vfIndex = obj["vfIndex"];
  if (vfIndex !== undefined && (typeof vfIndex !== "number" || !Number.isInteger(vfIndex))) {
    throw bad(`field "vfIndex" is not an integer`);
  }
  const original = obj["original"];
  if (original !== undefined) {
    if (typeof original !== "object" || original === null || Array.isArray(original)) {
      throw bad(`field "original" is not an object`);
    }
    const o = original as Record<string, unknown>;
    for (const name of ["nodeGuid", "portGuid"]) {
      if (o[name] !== undefined && typeof o[name] !== "string") {
        throw bad(`field "original.${name}" is not a string`);
      }
    }
    const ls = o["linkState"];
    if (ls !== undefined && (typeof ls !== "string" || !LINK_STATES.has(ls))) {
      throw bad(`field "original.linkState" is ${JSON.stringify(ls)}`);
    }
  }
  // Every field we know was checked above. Keys we do not know are kept: a record written by
  // a newer version of the plugin keeps what that version needs for DEL.
  return { ...obj } as unknown as AttachmentRecord;
}

/** The key of a Go cache file, which does not store the container ID. */
function goKey(fileName: string, raw: Record<string, unknown>): AttachmentKey {
  const contIf = raw["ContIFNames"];
  if (typeof contIf === "string" && contIf !== "" && fileName.endsWith(`-${contIf}`)) {
    return { containerId: fileName.slice(0, -contIf.length - 1), ifname: contIf };
  }
  const dash = fileName.lastIndexOf("-");
  if (dash < 0) return { containerId: fileName, ifname: "" };
  return { containerId: fileName.slice(0, dash), ifname: fileName.slice(dash + 1) };
}
