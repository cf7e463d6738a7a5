import { CniError, CniErrorCode } from "../cni/errors.ts";
import type { CniCommand } from "../cni/env.ts";
import { quote } from "../cni/quote.ts";
import type { CniVersion } from "../cni/versions.ts";
import { guidProblem, normalizeGuid } from "../guid.ts";
import { type NetConfInput, netConfSchema } from "./schema.ts";

/** Where the GUID to give the VF came from, in precedence order. */
export type GuidSource = "runtimeConfig.infinibandGUID" | "args.cni.guid" | "guid";

/** A decoded, validated network config. */
export interface NetConf {
  cniVersion: CniVersion;
  name: string;
  type: string;
  /** `deviceID`, the VF's PCI address, lower case. Required for ADD and CHECK. */
  deviceId?: string;
  /** The GUID to give the VF, lower case, from the first source that has one. */
  guid?: string;
  guidSource?: GuidSource;
  /** `pkey` as written (`0x8001`), carried for logs and the cache. */
  pkey?: string;
  linkState?: "auto" | "enable" | "disable";
  rdmaIsolation: boolean;
  ibKubernetesEnabled: boolean;
  vfioPciMode: boolean;
  /** `ipam`, when present; `type` is never empty. */
  ipam?: { type: string; [key: string]: unknown };
  dns?: Record<string, unknown>;
  /** `args.cni` (from the pod's `cni-args`), values of any JSON type. */
  argsCni: Record<string, unknown>;
  prevResult?: Record<string, unknown>;
  logLevel: "error" | "warning" | "info" | "debug";
  logFile?: string;
}

/** PCI address `DDDD:BB:DD.F`: domain, bus, device (0-1f), function (0-7). */
const PCI_ADDRESS = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[01][0-9a-fA-F]\.[0-7]$/;
/** `0x` and one to four hex digits. */
const PKEY = /^0x[0-9a-fA-F]{1,4}$/;

function invalid(msg: string, details = ""): CniError {
  return new CniError(CniErrorCode.InvalidNetworkConfig, msg, { details });
}

/** `args.cni["mellanox.infiniband.app"]`, `ipam.type`, `plugins[1]`. */
function fieldName(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(part))) {
      out += out === "" ? String(part) : `.${String(part)}`;
    } else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const part of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[part];
  }
  return v;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function decode(config: Record<string, unknown>): NetConfInput {
  const parsed = netConfSchema.safeParse(config);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const field = fieldName(issue.path);
    const value = valueAt(config, issue.path);
    if (issue.code === "invalid_value") {
      const allowed = issue.values.map((v) => String(v)).join(", ");
      return `${field} ${quote(value)} is invalid: must be one of ${allowed}`;
    }
    if (issue.code === "invalid_type" && value === undefined) {
      return `${field} is required: must be a ${issue.expected}`;
    }
    if (issue.code === "invalid_type") {
      return `${field} must be ${
        issue.expected === "object" ? "an object" : `a ${issue.expected}`
      }, got ${typeName(value)} ${quote(value)}`;
    }
    return `${field} ${quote(value)} is invalid`;
  });
  throw invalid(problems[0]!, problems.slice(1).join("; "));
}

function checkGuid(field: GuidSource, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const problem = guidProblem(value);
  if (problem !== null) throw invalid(`${field} ${quote(value)} is not a valid GUID: ${problem}`);
  return normalizeGuid(value);
}

function checkPkey(value: string): void {
  if (!PKEY.test(value)) {
    throw invalid(`pkey ${quote(value)} is invalid: must be 0x followed by 1 to 4 hex digits`);
  }
  // The top bit is the membership bit; the other 15 are the key, and key 0 is reserved.
  if ((parseInt(value, 16) & 0x7fff) === 0) {
    throw invalid(`pkey ${quote(value)} is invalid: the 15-bit partition key must not be 0`);
  }
}

/**
 * Decodes and validates a network config before anything on the node changes. Every check
 * that needs no kernel or sysfs access happens here.
 *
 * @param config the JSON object from stdin
 * @param cniVersion the negotiated version
 * @param command the CNI command: `deviceID` is required for ADD and CHECK only
 * @returns the validated config
 * @throws {CniError} code 7 naming the field and the value
 */
export function loadNetConf(
  config: Record<string, unknown>,
  cniVersion: CniVersion,
  command: CniCommand,
): NetConf {
  const input = decode(config);
  const out: NetConf = {
    cniVersion,
    name: input.name,
    type: input.type ?? "",
    rdmaIsolation: input.rdmaIsolation ?? false,
    ibKubernetesEnabled: input.ibKubernetesEnabled ?? false,
    vfioPciMode: input.vfioPciMode ?? false,
    argsCni: input.args?.cni ?? {},
    logLevel: input.logLevel ?? "info",
  };
  if (input.deviceID !== undefined) {
    if (!PCI_ADDRESS.test(input.deviceID)) {
      throw invalid(
        `deviceID ${
          quote(input.deviceID)
        } is not a PCI address: expected DDDD:BB:DD.F, e.g. 0000:3b:00.2`,
      );
    }
    out.deviceId = input.deviceID.toLowerCase();
  } else if (command === "ADD" || command === "CHECK") {
    throw invalid(
      "deviceID is required",
      "Multus sets deviceID from the device plugin resource named by the NetworkAttachmentDefinition's k8s.v1.cni.cncf.io/resourceName annotation",
    );
  }
  // Every GUID given is checked, even one a higher-precedence source overrides: a bad value
  // anywhere is a config error the operator should hear about.
  const candidates: [GuidSource, string | undefined][] = [
    [
      "runtimeConfig.infinibandGUID",
      checkGuid("runtimeConfig.infinibandGUID", input.runtimeConfig?.infinibandGUID),
    ],
    ["args.cni.guid", checkGuid("args.cni.guid", input.args?.cni?.guid)],
    ["guid", checkGuid("guid", input.guid)],
  ];
  const chosen = candidates.find(([, guid]) => guid !== undefined);
  if (chosen !== undefined) {
    out.guidSource = chosen[0];
    out.guid = chosen[1]!;
  }
  if (input.pkey !== undefined) {
    checkPkey(input.pkey);
    out.pkey = input.pkey;
  }
  if (input.link_state !== undefined) out.linkState = input.link_state;
  if (input.ipam !== undefined) {
    const { type } = input.ipam;
    if (type === "") {
      throw invalid('ipam.type "" is invalid: name the IPAM plugin, e.g. host-local');
    }
    // The type names an executable in CNI_PATH: a path would run a file outside it. Refused
    // here, before ADD changes anything, not only when IPAM is finally run.
    if (type === "." || type === ".." || type.includes("/") || type.includes("\0")) {
      throw invalid(
        `ipam.type ${quote(type)} is invalid: must be the file name of a plugin in CNI_PATH`,
      );
    }
    if (type === "dhcp") {
      throw invalid(
        'ipam.type "dhcp" is not supported: the VF has no carrier to run a DHCP client on',
        "use host-local, static or whereabouts",
      );
    }
    out.ipam = input.ipam;
  }
  if (out.vfioPciMode && out.rdmaIsolation) {
    throw invalid(
      "vfioPciMode true with rdmaIsolation true is not supported: a vfio-pci device has no RDMA device to isolate",
    );
  }
  if (input.dns !== undefined) out.dns = input.dns;
  if (input.prevResult !== undefined) out.prevResult = input.prevResult;
  if (input.logFile !== undefined) {
    if (!input.logFile.startsWith("/") || input.logFile.includes("\0")) {
      throw invalid(`logFile ${quote(input.logFile)} is invalid: must be an absolute path`);
    }
    out.logFile = input.logFile;
  }
  return out;
}
