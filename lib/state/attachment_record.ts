import * as z from "zod/mini";
import { basename } from "../path.ts";
import { fromGoCache, isGoCache } from "./go_cache.ts";
import { decodeJson, describeIssue } from "./json_file.ts";
import { StateError } from "./state_error.ts";
import { lazy } from "../lazy.ts";

/** Identifies one attachment: the CNI runtime never has two with the same pair. */
export interface AttachmentKey {
  containerId: string;
  ifname: string;
}

/** The record's schemas, built on first use ({@linkcode lazy}): an ADD writes records, reads none. */
const schemas = lazy(() => {
  const optionalString = z.optional(z.string());

  /** Fields of every record, whatever was attached. */
  const COMMON = {
    /** Format version of this record. */
    version: z.literal(1, {
      error: (iss) => `unknown version ${JSON.stringify(iss.input)}`,
    }),
    /** `adding` from before the first kernel change, `attached` once ADD is complete. */
    phase: z.enum(["adding", "attached"], {
      error: (iss) => `invalid phase ${JSON.stringify(iss.input)}`,
    }),
    containerId: z.string(),
    ifname: z.string(),
    netns: z.string(),
    networkName: z.string(),
    cniVersion: z.string(),
    /** The device's PCI address (`deviceID`). */
    deviceId: z.string(),
    /** The partition key of the network (`pkey`), for logs and operators; not applied here. */
    pkey: optionalString,
    /** `ipam.type`, when ADD made an IPAM call (never for a vfio-pci device). */
    ipamType: optionalString,
    /** The network config as given, for IPAM DEL/GC when the runtime's copy is not at hand. */
    config: z.optional(z.unknown()),
  };

  /**
   * The VF settings ADD changes, as they were before: written before the change, restored on
   * DEL. A field is present only when ADD sets that setting.
   */
  const originalSchema = z.object({
    nodeGuid: optionalString,
    portGuid: optionalString,
    linkState: z.optional(z.enum(["auto", "enable", "disable"])),
  });

  /** Fields of a VF, set through its PF (netdev or vfio-pci). */
  const VF = {
    /** The PF's netdev name and the VF index. */
    pfName: optionalString,
    vfIndex: z.optional(z.int()),
    /** The VF's driver at ADD (`mlx5_core`), which a GUID restore rebinds. */
    driver: optionalString,
    original: z.optional(originalSchema),
  };

  /** Fields of a VF whose netdev went into the pod. */
  const NETDEV = {
    /** The VF netdev's name in the host before ADD: DEL gives it back. */
    hostIfName: optionalString,
    /** The VF netdev's link-layer address, to recognise it after its netns died. */
    hostIfAddress: optionalString,
    /** Whether the VF netdev was up in the host before ADD. */
    hostIfUp: z.optional(z.boolean()),
    /** The VF netdev's MTU before ADD: the pod, a chained plugin or a rebind may change it. */
    hostIfMtu: z.optional(z.int()),
    /** The VF netdev's altnames before ADD: ADD may remove some, a rebind loses them all. */
    hostIfAltNames: z.optional(z.array(z.string())),
    /** The name DEL brings the netdev back to the host under (`vfdev<ifindex>`, unique there). */
    tempIfName: optionalString,
    /** RDMA device moved into the pod, when `rdmaIsolation`. */
    rdmaDevice: optionalString,
  };

  const commonSchema = z.object(COMMON);
  // Keys this version does not know are kept (loose objects): a record written by a newer version
  // of the plugin keeps what that version needs for DEL.
  const netdevVfSchema = z.looseObject({ kind: z.literal("vf"), ...COMMON, ...VF, ...NETDEV });
  const vfioVfSchema = z.looseObject({ kind: z.literal("vfio-vf"), ...COMMON, ...VF });
  const vfioPfSchema = z.looseObject({ kind: z.literal("vfio-pf"), ...COMMON });

  /**
   * Our attachment record, decoded. Records written before `kind` existed were all netdev VFs,
   * so a record without it is one.
   */
  const attachmentSchema = z.pipe(
    z.transform((raw: unknown) =>
      typeof raw === "object" && raw !== null && !Array.isArray(raw) && !("kind" in raw)
        ? { ...raw, kind: "vf" }
        : raw
    ),
    z.discriminatedUnion("kind", [netdevVfSchema, vfioVfSchema, vfioPfSchema], {
      error: (iss) =>
        iss.code === "invalid_union"
          ? `invalid kind ${JSON.stringify((iss.input as Record<string, unknown>)["kind"])}`
          : undefined,
    }),
  );

  return { commonSchema, originalSchema, netdevVfSchema, vfioVfSchema, attachmentSchema };
});
type Schemas = ReturnType<typeof schemas>;

/**
 * Everything DEL, CHECK and GC need to undo or verify an ADD, written before the first kernel
 * change (phase `adding`) and rewritten once the ADD is complete (phase `attached`). What was
 * attached (`kind`): a VF's netdev (`vf`), a VF bound to vfio-pci (`vfio-vf`: GUID and link state
 * only, no netdev) or a PF passed through (`vfio-pf`).
 */
export type AttachmentRecord = z.output<Schemas["attachmentSchema"]>;
/** The fields of a record that do not depend on the kind of device. */
export type RecordCommon = z.output<Schemas["commonSchema"]>;
/** A netdev VF's record. */
export type NetdevVfRecord = z.output<Schemas["netdevVfSchema"]>;
/** A vfio-pci VF's record. */
export type VfioVfRecord = z.output<Schemas["vfioVfSchema"]>;
/** See {@link AttachmentRecord}. */
export type AttachmentKind = AttachmentRecord["kind"];
/** What a record keeps of a VF's settings from before ADD. */
export type OriginalVfSettings = z.output<Schemas["originalSchema"]>;

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
  const raw = decodeJson(text, path, "attachment record");
  const fileName = basename(path);
  if (isGoCache(raw)) return fromGoCache(raw, key ?? goKey(fileName, raw), path);
  const parsed = schemas().attachmentSchema.safeParse(raw, { error: describeIssue });
  if (!parsed.success) {
    throw new StateError(
      "corrupt",
      path,
      `Cannot read attachment record "${path}": ${parsed.error.issues[0]?.message}`,
    );
  }
  const record = parsed.data;
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
