import * as z from "zod/mini";
import { basename } from "../path.ts";
import { isRecord, valueAt } from "../is_record.ts";
import { decodeState, parseJson } from "./json_file.ts";
import { StateError } from "./state_error.ts";
import { lazy } from "../lazy.ts";
import { PLUGIN_TYPE } from "../config/limits.ts";

/** Identifies one attachment: the CNI runtime never has two with the same pair. */
export interface AttachmentKey {
  containerId: string;
  ifname: string;
}

/** The allocation record `<cacheDir>/pci/<pci>`: who holds a device. Other keys are dropped. */
export const deviceOwnerSchema = lazy(() =>
  z.object({
    containerId: z.string(),
    ifname: z.string(),
    /** The holder's netns: a holder whose netns is gone died without DEL. */
    netns: z.string(),
  })
);

export type DeviceOwner = z.output<ReturnType<typeof deviceOwnerSchema>>;

/** The record's schemas, built on first use ({@linkcode lazy}): an ADD writes records, reads none. */
const schemas = lazy(() => {
  const optionalString = z.optional(z.string());

  /** Fields of every record, whatever was attached. */
  const COMMON = {
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

  /** A value the Go plugin may have left out or written as `null`: both mean unset, as in Go. */
  const go = <T extends z.core.SomeType>(t: T) => z.optional(z.nullable(t));
  const goString = go(z.string());
  /**
   * The Go ib-sriov-cni's cache file (v1.3.0 and later), as its DEL decodes it: the keys and
   * types of its NetConf (pkg/types/types.go). Ours carry them too, written by `goCacheKeys()`;
   * `cniVersion` and `pkey` are ours and Go's alike. Every key may be missing: before v1.3.0 the
   * cache held only `cniVersion`, `name`, `type` and `ipam`.
   */
  const goCacheSchema = z.object({
    cniVersion: goString,
    name: goString,
    type: goString,
    deviceID: goString,
    /** The PF's netdev; VFID is the VF's index under it. */
    Master: goString,
    VFID: z.optional(z.int()),
    /** The VF netdev's host name, the name in the pod. */
    HostIFNames: goString,
    ContIFNames: goString,
    /** The GUID DEL writes back as node and port GUID (then rebinds); `""`: none changed. */
    HostIFGUID: goString,
    /** The link state ADD set: DEL resets a VF with one to `auto`. */
    link_state: goString,
    rdmaIsolation: go(z.boolean()),
    vfioPciMode: go(z.boolean()),
    /** Only `type` is kept; IPAM DEL runs with the DEL request's config. */
    ipam: go(z.object({ type: goString })),
    RdmaNetState: go(z.object({
      version: goString,
      deviceID: goString,
      sandboxRdmaDevName: goString,
      containerRdmaDevName: goString,
    })),
    runtimeConfig: go(z.object({ infinibandGUID: goString })),
    args: go(z.object({ cni: go(z.record(z.string(), z.string())) })),
  });
  /** The Go keys a record of ours carries beside its own, dropped when it is read back. */
  const goOnlyKeys = Object.keys(goCacheSchema.shape).filter((k) => !(k in COMMON));

  return {
    commonSchema,
    originalSchema,
    netdevVfSchema,
    vfioVfSchema,
    attachmentSchema,
    goCacheSchema,
    goOnlyKeys,
  };
});
type Schemas = ReturnType<typeof schemas>;

/**
 * Everything DEL, CHECK and GC need to undo or verify an ADD, written before the first kernel
 * change (phase `adding`) and rewritten once the ADD is complete (phase `attached`). What was
 * attached (`kind`): a VF's netdev (`vf`), a VF bound to vfio-pci (`vfio-vf`: GUID and link state
 * only, no netdev) or a PF passed through (`vfio-pf`).
 */
export type AttachmentRecord = z.output<Schemas["attachmentSchema"]>;
export type RecordCommon = z.output<Schemas["commonSchema"]>;
export type NetdevVfRecord = z.output<Schemas["netdevVfSchema"]>;
export type VfioVfRecord = z.output<Schemas["vfioVfSchema"]>;
export type AttachmentKind = AttachmentRecord["kind"];
export type OriginalVfSettings = z.output<Schemas["originalSchema"]>;

/** The Go plugin's cache file, decoded; and the Go keys our records carry. */
export type GoCache = z.output<Schemas["goCacheSchema"]>;

/**
 * Decodes an attachment cache file: our format (`"version": 1`) or the Go plugin's (an object
 * without `version` that has a key of {@link GoCache}). Our records must name the attachment their
 * file is named after, so a file copied or renamed by hand cannot make DEL undo another container's
 * device. Keys this version does not know are kept; the Go keys of our own records are dropped.
 *
 * @param key the attachment the caller asked for; `null` when listing, in which case the key
 *   comes from the record (ours) or from the file name `<containerId>-<ifname>` (Go's: the
 *   `ifname` is `ContIFNames` when the name ends with it, else the text after the last `-`)
 * @throws {StateError} code `corrupt` when the text is not JSON or not a record of either format
 */
export function decodeAttachment(
  text: string,
  path: string,
  key: AttachmentKey | null,
): AttachmentRecord {
  const raw = parseJson(text, path, "attachment record");
  const fileName = basename(path);
  const { attachmentSchema, goCacheSchema, goOnlyKeys } = schemas();
  const goKeys = Object.keys(goCacheSchema.shape);
  if (isRecord(raw) && !("version" in raw) && goKeys.some((k) => k in raw)) {
    const go = decodeState(raw, path, "Go cache file", goCacheSchema);
    // VFID is an index only for a VF, which Go records with its PF's netdev in `Master`.
    if (go.Master && go.VFID !== undefined && go.VFID < 0) {
      throw new StateError(
        "corrupt",
        path,
        `Cannot read Go cache file "${path}": field "VFID" is ${go.VFID}`,
      );
    }
    return fromGoCache(go, key ?? goKey(fileName, go));
  }
  if (isRecord(raw)) { for (const k of goOnlyKeys) delete raw[k]; }
  const record = decodeState(raw, path, "attachment record", attachmentSchema);
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

/** Encodes a record for its file: our keys, then the Go plugin's (see {@link goCacheKeys}). */
export function encodeAttachment(record: AttachmentRecord): string {
  return JSON.stringify({ ...record, ...goCacheKeys(record) });
}

/**
 * The Go keys of one of our records, with the meaning the Go plugin's DEL (v1.3.0 and later)
 * gives them: after a rollback, it reads our record as its cache and undoes our ADD. What it
 * cannot undo is in docs/install.md ("Rolling back"). Go's decoder matches keys to fields without
 * regard to case: of ours, only `deviceId` meets one (`deviceID`), with the same value.
 *
 * - `HostIFGUID`: the port GUID from before ADD when ADD changed the GUIDs (Go restores both
 *   node and port GUID to it, as it records the port GUID of the IPoIB address), else `""`;
 * - `link_state`: the state ADD set, only when it changed it (Go resets the VF to `auto`);
 * - `args.cni`: the config's string values (Go's type is a map of strings: another type would
 *   make its DEL fail to decode the file and do nothing).
 */
export function goCacheKeys(r: AttachmentRecord): GoCache {
  const vf = r.kind === "vfio-pf" ? undefined : r;
  const netdev = r.kind === "vf" ? r : undefined;
  const rdma = netdev?.rdmaDevice ?? "";
  const linkState = vf?.original?.linkState === undefined
    ? undefined
    : valueAt(r.config, ["link_state"]);
  const guid = valueAt(r.config, ["runtimeConfig", "infinibandGUID"]);
  const type = valueAt(r.config, ["type"]);
  const args = valueAt(r.config, ["args", "cni"]);
  const cni = isRecord(args) ? Object.entries(args).filter(([, v]) => typeof v === "string") : [];
  return {
    name: r.networkName,
    type: typeof type === "string" ? type : PLUGIN_TYPE,
    deviceID: r.deviceId,
    Master: vf?.pfName ?? "",
    VFID: vf?.vfIndex ?? 0,
    HostIFNames: netdev?.hostIfName ?? "",
    ContIFNames: netdev === undefined ? "" : r.ifname,
    HostIFGUID: vf?.original?.portGuid ?? "",
    ...(typeof linkState === "string" ? { "link_state": linkState } : {}),
    ...(rdma === "" ? {} : { rdmaIsolation: true }),
    ...(r.kind === "vf" ? {} : { vfioPciMode: true }),
    ipam: r.ipamType === undefined ? {} : { type: r.ipamType },
    RdmaNetState: {
      version: "",
      deviceID: rdma && r.deviceId,
      sandboxRdmaDevName: rdma,
      containerRdmaDevName: rdma,
    },
    runtimeConfig: { infinibandGUID: typeof guid === "string" ? guid : "" },
    args: { cni: cni.length === 0 ? null : Object.fromEntries(cni) as Record<string, string> },
  };
}

/**
 * Maps a Go cache file to our record; each choice reproduces what the Go plugin's DEL would do:
 * - `phase` is `attached` (Go wrote its cache only after a complete ADD) and `netns` is `""`
 *   (Go never cached it);
 * - `kind` is `vfio-vf` (or `vfio-pf` without `Master`: only VFs have one) for `vfioPciMode`
 *   records, else `vf`;
 * - `original.nodeGuid` and `original.portGuid` both come from `HostIFGUID`;
 * - a non-empty `link_state` maps to `original.linkState: "auto"`, which Go's DEL sets;
 * - `ipamType` is left unset for `vfioPciMode` records, because Go skips IPAM DEL for them;
 * - `rdmaDevice` comes from `RdmaNetState.containerRdmaDevName` when `rdmaIsolation` is set;
 * - `config` is left unset: Go cached only `ipam.type`, too little for an IPAM DEL.
 */
function fromGoCache(go: GoCache, key: AttachmentKey): AttachmentRecord {
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

/** The key of a Go cache file, which does not store the container ID. */
function goKey(fileName: string, go: GoCache): AttachmentKey {
  const contIf = go.ContIFNames;
  if (contIf && fileName.endsWith(`-${contIf}`)) {
    return { containerId: fileName.slice(0, -contIf.length - 1), ifname: contIf };
  }
  const dash = fileName.lastIndexOf("-");
  if (dash < 0) return { containerId: fileName, ifname: "" };
  return { containerId: fileName.slice(0, dash), ifname: fileName.slice(dash + 1) };
}
