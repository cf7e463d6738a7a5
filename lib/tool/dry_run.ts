import { CniError } from "../cni/errors.ts";
import { errorMessage } from "../error_message.ts";
import { quote } from "../cni/quote.ts";
import { negotiateVersion } from "../cni/versions.ts";
import { loadNetConf, type NetConf } from "../config/load_net_conf.ts";
import { guidFromSysfs } from "../guid.ts";
import { resolveDevice } from "../plugin/resolve_device.ts";
import type { Sysfs } from "../sysfs/sysfs.ts";
import { SysfsError } from "../sysfs/sysfs_error.ts";
import { configDocuments } from "./nad.ts";
import { buildPlan, type Plan, type PlanDevice } from "./plan.ts";
import type { ToolIo } from "./tool_io.ts";
import { UsageError } from "./usage_error.ts";
import { formatFinding, PLUGIN_TYPE, validateBytes } from "./validate.ts";

/** A config the plan cannot be made for; the message says why. Exit status 1. */
export class DryRunError extends Error {
  override name = "DryRunError";
  /** Always `"config"` or `"device"`: what was wrong. */
  readonly code: "config" | "device";

  /**
   * @param code what was wrong
   * @param message one line naming the input
   * @param options `cause`
   */
  constructor(code: "config" | "device", message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The plugin's own config: the file's config, or the `ib-sriov` entry of a conflist with the
 * list's `name` and `cniVersion`, as libcni hands it to the plugin.
 */
function pluginConfig(source: string, config: Record<string, unknown>): Record<string, unknown> {
  const plugins = config["plugins"];
  if (!Array.isArray(plugins)) return config;
  const ours = plugins.filter((p) => isRecord(p) && p["type"] === PLUGIN_TYPE);
  if (ours.length !== 1) {
    throw new DryRunError(
      "config",
      `${source}: the conflist has ${ours.length} plugins of type "${PLUGIN_TYPE}"; dry-run needs one`,
    );
  }
  const { cniVersion, cniVersions, name } = config;
  return { ...(ours[0] as Record<string, unknown>), name, cniVersion, cniVersions };
}

/** Decodes the config as the plugin would, with `deviceID` from `--device-id` when given. */
function decodeConfig(
  source: string,
  bytes: Uint8Array,
  command: "ADD" | "DEL",
  deviceId: string | undefined,
): NetConf {
  const raw = pluginConfig(source, JSON.parse(new TextDecoder().decode(bytes)));
  const config = deviceId === undefined ? raw : { ...raw, deviceID: deviceId };
  if (config["deviceID"] === undefined) {
    throw new UsageError(
      `${source}: no deviceID: Multus sets it from the device plugin at run time; pass ` +
        "--device-id DDDD:BB:DD.F",
    );
  }
  try {
    const versions = Array.isArray(config["cniVersions"])
      ? config["cniVersions"].map(String)
      : undefined;
    const version = negotiateVersion(
      typeof config["cniVersion"] === "string" ? config["cniVersion"] : undefined,
      versions,
    );
    return loadNetConf(config, version, command);
  } catch (err) {
    if (!(err instanceof CniError)) throw err;
    throw new DryRunError("config", `${source}: ${err.message}`, { cause: err });
  }
}

/** Everything the plan needs about the device, from sysfs only. */
function resolvePlanDevice(sysfs: Sysfs, conf: NetConf): PlanDevice {
  const pci = conf.deviceId!;
  try {
    const device = resolveDevice(sysfs, pci, conf.vfioPciMode);
    if (device.kind === "vfio-pf") {
      return {
        kind: device.kind,
        pci,
        driver: sysfs.driver(pci),
        rdmaDevice: null,
        nodeGuid: null,
      };
    }
    const rdmaDevice = sysfs.rdmaDevices(pci)[0] ?? null;
    const guidText = rdmaDevice === null ? null : sysfs.rdmaNodeGuid(pci, rdmaDevice);
    return {
      kind: device.kind,
      pci,
      pfPci: device.pfPci,
      pfName: device.pfName,
      vfIndex: device.vfIndex,
      ...(device.kind === "vf" ? { netdev: device.netdev } : {}),
      driver: sysfs.driver(pci),
      rdmaDevice,
      nodeGuid: guidText === null ? null : guidFromSysfs(guidText) ?? guidText,
    };
  } catch (err) {
    if (!(err instanceof CniError) && !(err instanceof SysfsError)) throw err;
    const details = err instanceof CniError && err.details !== "" ? ` (${err.details})` : "";
    throw new DryRunError("device", `${err.message}${details}`, { cause: err });
  }
}

/**
 * Formats the device and the plan for a person.
 *
 * @param device the device
 * @param conf the config
 * @param plan the plan
 * @param cni `CNI_IFNAME` and `CNI_NETNS`
 * @returns the text, ending in a newline
 */
export function formatPlan(
  device: PlanDevice,
  conf: NetConf,
  plan: Plan,
  cni: { ifname: string; netns: string },
): string {
  const lines: string[] = [];
  const what = { "vf": "VF", "vfio-vf": "VF (vfio-pci)", "vfio-pf": "PF (vfio-pci)" }[device.kind];
  lines.push(`device    ${device.pci}: ${what}`);
  if (device.pfPci !== undefined) {
    lines.push(`PF        ${device.pfPci} (netdev ${device.pfName}), VF index ${device.vfIndex}`);
  }
  if (device.netdev !== undefined) lines.push(`netdev    ${device.netdev}`);
  lines.push(`driver    ${device.driver ?? "none"}`);
  if (device.kind !== "vfio-pf") {
    lines.push(`RDMA      ${device.rdmaDevice ?? "none"}`);
    lines.push(`node GUID ${device.nodeGuid ?? "unknown"}`);
  }
  lines.push(
    `network   ${quote(conf.name)} (cniVersion ${conf.cniVersion}), CNI_IFNAME ${cni.ifname}, ` +
      `CNI_NETNS ${cni.netns}`,
  );
  lines.push("", `${plan.command} plan:`);
  plan.steps.forEach((step, i) => {
    lines.push(`  ${String(i + 1).padStart(2)}. ${step.action}`);
    if (step.undo !== undefined) lines.push(`      undo: ${step.undo}`);
  });
  for (const note of plan.notes) lines.push(`note: ${note}`);
  if (plan.failure !== null) lines.push("", plan.failure);
  return `${lines.join("\n")}\n`;
}

/**
 * `ib-sriov dry-run [--command ADD|DEL] [--sysfs-root DIR] [--ifname NAME] [--netns PATH]
 * [--device-id PCI] FILE`: validates the config, resolves its device from sysfs (read only, no
 * root needed), and prints the plan. Nothing is changed and no lock is taken.
 *
 * @param args the arguments after `dry-run`
 * @param io the tool's I/O
 * @returns 0 when the plan was printed, 1 when the config or the device is wrong or the plan
 *   predicts a failure
 * @throws {UsageError} for bad options, not one FILE, an unreadable file or no deviceID
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
      netns: { type: "string", default: "/var/run/netns/<pod>" },
      "device-id": { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  const command = values.command.toUpperCase();
  if (command !== "ADD" && command !== "DEL") {
    throw new UsageError(`dry-run: --command must be ADD or DEL, got ${quote(values.command)}`);
  }
  if (positionals.length !== 1) throw new UsageError("dry-run: name exactly one FILE");
  const file = positionals[0]!;
  let bytes: Uint8Array;
  try {
    bytes = await io.readFile(file);
  } catch (err) {
    throw new UsageError(`${file}: cannot read: ${errorMessage(err)}`, { cause: err });
  }
  // 1. Validate as the plugin does, before anything else is looked at; warnings do not stop it.
  const findings = validateBytes(file, bytes, io.validateConfig);
  for (const f of findings) io.stdout(`${formatFinding(f)}\n`);
  if (findings.some((f) => f.severity === "error")) return 1;
  const docs = configDocuments(file, bytes);
  if (docs.length !== 1 || docs[0]!.config === null) {
    throw new UsageError(`${file}: holds ${docs.length} configs; dry-run takes a file with one`);
  }
  try {
    // 2. Decode; 3. resolve the device; 4. plan.
    const conf = decodeConfig(docs[0]!.source, docs[0]!.config, command, values["device-id"]);
    const device = resolvePlanDevice(io.sysfs(values["sysfs-root"]), conf);
    const cni = { ifname: values.ifname, netns: values.netns };
    const plan = buildPlan({ command, conf, device, ...cni });
    io.stdout(formatPlan(device, conf, plan, cni));
    return plan.failure === null ? 0 : 1;
  } catch (err) {
    if (!(err instanceof DryRunError)) throw err;
    io.stdout(`${err.message}\n`);
    return 1;
  }
}
