import { CniError } from "../cni/errors.ts";
import { errorMessage } from "../error_message.ts";
import { quote } from "../cni/quote.ts";
import { negotiateVersion } from "../cni/versions.ts";
import { loadNetConf, type NetConf } from "../config/load_net_conf.ts";
import { addSettings, checkIbKubernetes, requireAssignedGuid } from "../plugin/add.ts";
import { completeFromRequest } from "../plugin/del.ts";
import { kernelStep } from "../plugin/to_cni_error.ts";
import { isRecord } from "../is_record.ts";
import { chooseRelease } from "../plugin/lease_release.ts";
import { resolveDevice, VFIO_PCI } from "../plugin/resolve_device.ts";
import { isVfTarget, rdmaGuid, requireOwnGuid } from "../plugin/vf_config.ts";
import { StateError } from "../state/state_error.ts";
import type { AttachmentRecord } from "../state/store.ts";
import type { Sysfs } from "../sysfs/sysfs.ts";
import { configDocuments } from "./nad.ts";
import type { ToolIo } from "./tool_io.ts";
import { UsageError } from "./usage_error.ts";
import { formatFinding, validateBytes } from "./validate.ts";
import { PLUGIN_TYPE } from "../config/limits.ts";

/** The CNI arguments the dry run stands in for. */
type CniArgs = { containerId: string; ifname: string; netns: string };

/** A `CniError` as one line with its details; anything else is a bug and is thrown again. */
function describe(err: unknown): string {
  if (!(err instanceof CniError)) throw err;
  return err.details === "" ? err.message : `${err.message} (${err.details})`;
}

/** One line of a report: the setting, then what happens to it. */
function row(label: string, text: string): string {
  return `  ${label.padEnd(11)} ${text}`;
}

/**
 * The plugin's own config: the file's config, or the `ib-sriov` entry of a conflist with the
 * list's `name` and `cniVersion`, as libcni hands it to the plugin; or why there is none.
 */
function pluginConfig(config: Record<string, unknown>): Record<string, unknown> | string {
  const plugins = config["plugins"];
  if (!Array.isArray(plugins)) return config;
  const ours = plugins.filter((p) => isRecord(p) && p["type"] === PLUGIN_TYPE);
  if (ours.length !== 1) {
    return `the conflist has ${ours.length} plugins of type "${PLUGIN_TYPE}"; dry-run needs one`;
  }
  const { cniVersion, cniVersions, name } = config;
  return { ...(ours[0] as Record<string, unknown>), name, cniVersion, cniVersions };
}

function decodeConfig(config: Record<string, unknown>, command: "ADD" | "DEL"): NetConf {
  const { cniVersion, cniVersions } = config;
  const versions = Array.isArray(cniVersions) ? cniVersions.map(String) : undefined;
  const version = negotiateVersion(
    typeof cniVersion === "string" ? cniVersion : undefined,
    versions,
  );
  return loadNetConf(config, version, command);
}

/**
 * The device as ADD resolves it, what of the config ADD applies to it (`addSettings`), and the
 * failure that the handler's own checks before the kernel predict.
 *
 * @throws {CniError} code 100 naming what is wrong with the device
 */
function addReport(sysfs: Sysfs, conf: NetConf, cni: CniArgs): [string[], boolean] {
  const device = resolveDevice(sysfs, conf.deviceId!, conf.vfioPciMode);
  const pci = device.pci;
  const driver = device.kind === "vf" ? device.driver : VFIO_PCI;
  const kind = { "vf": "VF", "vfio-vf": "VF (vfio-pci)", "vfio-pf": "PF (vfio-pci)" }[device.kind];
  const lines = [`device    ${pci}: ${kind}`];
  const s = addSettings(conf, device);
  const changes: string[] = [];
  // The GUID the VF's driver probed, as sysfs shows it; without one there ADD reads the IPoIB
  // address, which only netlink gives.
  let probed: string | null = null;
  if (device.kind === "vfio-pf") {
    lines.push(`driver    ${driver}`);
    changes.push("  nothing on the PF: the pod gets it whole");
    if (s.ignored.length > 0) changes.push(row("ignored", `${s.ignored.join(", ")} (logged)`));
  } else {
    const read = () => ({ rdma: sysfs.rdmaDevices(pci)[0], guid: rdmaGuid(sysfs, pci) });
    const { rdma, guid } = kernelStep(`Cannot read sysfs for deviceID ${quote(pci)}`, read);
    probed = guid;
    lines.push(`PF        ${device.pfPci} (netdev ${device.pfName}), VF index ${device.vfIndex}`);
    if (device.kind === "vf") lines.push(`netdev    ${device.netdev}`);
    lines.push(
      `driver    ${driver}`,
      `RDMA      ${rdma ?? "none"}`,
      `node GUID ${guid ?? "unknown"}`,
    );
    const via = `through PF ${device.pfName} VF ${device.vfIndex}`;
    const rebind = device.kind === "vf"
      ? `, then rebinds the VF to ${driver}, which recreates its netdev and RDMA device`
      : "";
    const own = device.kind === "vfio-vf"
      ? ""
      : `, which must be assigned${
        guid === null ? " (not in sysfs: ADD reads the IPoIB address)" : ""
      }`;
    changes.push(
      row(
        "GUID",
        s.guid === undefined
          ? `none given: the VF keeps its own${own}`
          : `node and port ${s.guid} (from ${conf.guidSource}) ${via}${rebind}`,
      ),
      row("link_state", s.linkState === undefined ? "none given" : `${s.linkState} ${via}`),
    );
  }
  if (device.kind === "vf") {
    const pod = `into the pod (${cni.netns})`;
    changes.push(
      row(
        "RDMA",
        s.rdmaIsolation
          ? `the VF's RDMA device ${pod}; ADD refuses unless the RDMA netns mode is exclusive`
          : "stays in the host",
      ),
      row("netdev", `the VF's netdev ${pod} as ${cni.ifname}, set up`),
      row("IPAM", s.ipamType ?? "none"),
    );
  } else if (device.kind === "vfio-vf") {
    changes.push(row("PCI device", "the pod gets it whole: no netdev, no IPAM"));
  }
  changes.push(row("device-info", conf.deviceInfoFile ?? "none"));
  if (s.guid !== undefined || s.linkState !== undefined) {
    changes.push(
      "note: a GUID or link state the VF has already is not set again (nor rebound); the PF " +
        "knows, dry-run does not ask it",
    );
  }
  lines.push(
    `network   ${quote(conf.name)} (cniVersion ${conf.cniVersion}), CNI_IFNAME ${cni.ifname}, ` +
      `CNI_NETNS ${cni.netns}`,
    "",
    "ADD changes:",
    ...changes,
  );
  try {
    checkIbKubernetes(conf);
    requireAssignedGuid(conf, device);
    if (probed !== null) requireOwnGuid(conf, device, probed);
    return [lines, false];
  } catch (err) {
    return [[...lines, "", `ADD would fail: ${describe(err)}`], true];
  }
}

/** What DEL would undo from `r`, as `releaseAttachment` and `restoreDevice` read it. */
function recordReport(io: ToolIo, sysfs: Sysfs, r: AttachmentRecord): string[] {
  const pci = r.deviceId;
  if (pci === "") {
    return [row("netdev", `the record names no device: ${r.ifname} is left where it is`)];
  }
  const exists = kernelStep(
    `Cannot read sysfs for deviceID ${quote(pci)}`,
    () => sysfs.deviceExists(pci),
  );
  if (!exists) return [row("device", `${pci} no longer exists: nothing to restore`)];
  const owner = io.store().deviceOwner(pci);
  if (owner !== null && (owner.containerId !== r.containerId || owner.ifname !== r.ifname)) {
    return [row("device", `${pci} is claimed by ${owner.containerId}/${owner.ifname}: left alone`)];
  }
  const lines: string[] = [];
  if (r.kind === "vf") {
    const up = r.hostIfUp === undefined ? "" : `, ${r.hostIfUp ? "up" : "down"}`;
    lines.push(row("netdev", `${r.ifname} back to the host as ${r.hostIfName ?? "it is"}${up}`));
    if (r.rdmaDevice !== undefined) lines.push(row("RDMA", `${r.rdmaDevice} back to the host`));
  }
  if (isVfTarget(r)) {
    const via = `through PF ${r.pfName} VF ${r.vfIndex}`;
    const { nodeGuid, portGuid, linkState } = r.original ?? {};
    if (linkState !== undefined) lines.push(row("link_state", `back to ${linkState} ${via}`));
    if (nodeGuid !== undefined && portGuid !== undefined) {
      const rebind = r.kind === "vf" ? `, then rebinds the VF to ${r.driver ?? "its driver"}` : "";
      lines.push(row("GUID", `back to node ${nodeGuid}, port ${portGuid} ${via}${rebind}`));
    }
  }
  if (r.kind === "vf") {
    if (r.hostIfMtu !== undefined) lines.push(row("MTU", `back to ${r.hostIfMtu}`));
    const alt = r.hostIfAltNames ?? [];
    if (alt.length > 0) {
      lines.push(row("altnames", `back: ${alt.join(", ")}, unless another link took one`));
    }
  }
  return lines;
}

/**
 * What DEL would do for the attachment `cni` names: from its record when there is one (the
 * lease released with the config `chooseRelease` picks, then the device restored), else only
 * what the config names.
 */
function delReport(
  io: ToolIo,
  sysfs: Sysfs,
  config: Record<string, unknown>,
  conf: NetConf,
  cni: CniArgs,
): string[] {
  const key = { containerId: cni.containerId, ifname: cni.ifname };
  const lines = [
    `network   ${quote(conf.name)} (cniVersion ${conf.cniVersion}), CNI_CONTAINERID ` +
    `${key.containerId}, CNI_IFNAME ${key.ifname}`,
    "",
  ];
  let read: AttachmentRecord | null;
  let why = "without an attachment record";
  try {
    read = io.store().readAttachment(key);
  } catch (err) {
    if (!(err instanceof StateError) || err.code !== "corrupt") throw err;
    read = null;
    why = `which removes the corrupt record (${err.message})`;
  }
  if (read === null) {
    return [
      ...lines,
      `DEL, ${why}, releases only what the config names:`,
      row("IPAM", conf.ipam === undefined ? "none" : `DEL with ${conf.ipam.type}`),
      row("claim", conf.deviceId === undefined ? "none" : `this attachment's on ${conf.deviceId}`),
    ];
  }
  const r = completeFromRequest(read, conf);
  const stdin = new TextEncoder().encode(JSON.stringify(config));
  const env = { ...key, netns: cni.netns, args: {}, argsRaw: "", path: "", netnsOverride: false };
  const args = { ...env, command: "DEL" as const };
  // The config here is valid, so there is always one to release the lease with.
  const recorded = chooseRelease({ args, cniVersion: conf.cniVersion, config, stdin }, r, args)
    ?.recorded;
  const lease = r.ipamType === undefined
    ? "none"
    : `DEL with ${r.ipamType} and ${
      recorded ? "the config ADD recorded (this one differs)" : "this config"
    }`;
  const claim = r.deviceId === "" ? "" : ` and this attachment's claim on ${r.deviceId}`;
  return [
    ...lines,
    `DEL, from the attachment record (phase ${r.phase}):`,
    row("IPAM", lease),
    ...recordReport(io, sysfs, r),
    row("then", `the record${claim} removed`),
  ];
}

/**
 * `ib-sriov dry-run`: validates the config, then for ADD resolves its device from sysfs and says
 * what ADD would change on it, and for DEL what DEL would undo from the attachment record.
 * Nothing is changed and no lock is taken.
 *
 * @returns 0 when the report was printed, 1 when the config or the device is wrong or ADD would
 *   fail
 * @throws {UsageError} for bad options, not one FILE, an unreadable file, no deviceID for ADD or
 *   no container ID for DEL
 */
export async function runDryRun(args: string[], io: ToolIo): Promise<number> {
  // Imported here, not at the top: the plugin bundle must not load Node compatibility.
  const { parseArgs } = await import("node:util");
  const { values, positionals } = parseArgs({
    args,
    options: {
      command: { type: "string", default: "ADD" },
      "sysfs-root": { type: "string", default: "/" },
      ifname: { type: "string", default: "net1" },
      netns: { type: "string" },
      "device-id": { type: "string" },
      "container-id": { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  const command = values.command.toUpperCase();
  if (command !== "ADD" && command !== "DEL") {
    throw new UsageError(`dry-run: --command must be ADD or DEL, got ${quote(values.command)}`);
  }
  if (positionals.length !== 1) throw new UsageError("dry-run: name exactly one FILE");
  const containerId = values["container-id"];
  if (command === "DEL" && containerId === undefined) {
    throw new UsageError(
      "dry-run: DEL needs --container-id: it works from that attachment's record",
    );
  }
  const file = positionals[0]!;
  let bytes: Uint8Array;
  try {
    bytes = await io.readFile(file);
  } catch (err) {
    throw new UsageError(`${file}: cannot read: ${errorMessage(err)}`, { cause: err });
  }
  // Validate as the plugin does, before anything else is looked at; warnings do not stop it.
  const findings = validateBytes(file, bytes, io.validateConfig);
  for (const f of findings) io.stdout(`${formatFinding(f)}\n`);
  if (findings.some((f) => f.severity === "error")) return 1;
  const docs = configDocuments(file, bytes);
  if (docs.length !== 1 || docs[0]!.config === null) {
    throw new UsageError(`${file}: holds ${docs.length} configs; dry-run takes a file with one`);
  }
  const source = docs[0]!.source;
  const found = pluginConfig(JSON.parse(new TextDecoder().decode(docs[0]!.config)));
  if (typeof found === "string") return problem(io, `${source}: ${found}`);
  const deviceId = values["device-id"];
  const config = deviceId === undefined ? found : { ...found, deviceID: deviceId };
  if (command === "ADD" && config["deviceID"] === undefined) {
    throw new UsageError(
      `${source}: no deviceID: Multus sets it from the device plugin at run time; pass ` +
        "--device-id DDDD:BB:DD.F",
    );
  }
  let conf: NetConf;
  try {
    conf = decodeConfig(config, command);
  } catch (err) {
    return problem(io, `${source}: ${describe(err)}`);
  }
  const sysfs = io.sysfs(values["sysfs-root"]);
  const cni = {
    containerId: containerId ?? "",
    ifname: values.ifname,
    netns: values.netns ?? (command === "ADD" ? "/var/run/netns/<pod>" : ""),
  };
  let lines: string[], fails = false;
  try {
    if (command === "ADD") [lines, fails] = addReport(sysfs, conf, cni);
    else lines = delReport(io, sysfs, config, conf, cni);
  } catch (err) {
    return problem(io, describe(err));
  }
  io.stdout(`${lines.join("\n")}\n`);
  return fails ? 1 : 0;
}

function problem(io: ToolIo, message: string): number {
  io.stdout(`${message}\n`);
  return 1;
}
