import type { CniCommand } from "../cni/env.ts";
import type { CniVersion } from "../cni/versions.ts";
import { normalizeGuid } from "../guid.ts";
import { type NetConfInput, netConfSchema } from "./schema.ts";
import {
  commandOptions,
  validateConfigBytes,
  type Violation,
  violationError,
} from "./validate_config.ts";

/** Where the GUID to give the VF came from, in precedence order. */
export type GuidSource = "runtimeConfig.infinibandGUID" | "args.cni.guid" | "guid";

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
  /** `ipam`, when it names a plugin (`"ipam": {}` means none); `type` is never empty. */
  ipam?: { type: string; [key: string]: unknown };
  dns?: Record<string, unknown>;
  /** `args.cni` (from the pod's `cni-args`), values of any JSON type. */
  argsCni: Record<string, unknown>;
  prevResult?: Record<string, unknown>;
  logLevel: "error" | "warning" | "info" | "debug";
  /** `logFile` when it names a path the validator accepts; empty means none. */
  logFile?: string;
  /** `runtimeConfig.CNIDeviceInfoFile`: the NPWG device-info file, which ADD brings up to date. */
  deviceInfoFile?: string;
  /** The validator's warnings: each names a field that is ignored, so its default applies. */
  warnings?: Violation[];
}

/**
 * The GUID to give the VF and its source: the first source, in precedence order, with one (an
 * empty one is unset, as the Go plugin reads it).
 */
function chooseGuid(input: NetConfInput): { guid: string; guidSource: GuidSource } | undefined {
  const sources: [GuidSource, string | undefined][] = [
    ["runtimeConfig.infinibandGUID", input.runtimeConfig?.infinibandGUID],
    ["args.cni.guid", input.args?.cni?.guid],
    ["guid", input.guid],
  ];
  const chosen = sources.find(([, guid]) => guid !== undefined && guid !== "");
  return chosen === undefined
    ? undefined
    : { guidSource: chosen[0], guid: normalizeGuid(chosen[1]!) };
}

/**
 * Validates a network config with the config validator, then decodes it ({@link decodeNetConf}):
 * for a config no one validated yet (the operator's tool; the plugin's `dispatch()` validates the
 * bytes it reads).
 *
 * @param command the CNI command: `deviceID` is required for ADD and CHECK only
 * @throws {CniError} naming the field and the value (see `violationError()`)
 */
export function loadNetConf(
  config: Record<string, unknown>,
  cniVersion: CniVersion,
  command: CniCommand,
): NetConf {
  const violations = validateConfigBytes(
    new TextEncoder().encode(JSON.stringify(config)),
    commandOptions(command),
  );
  const errors = violations.filter((v) => v.severity === "error");
  if (errors.length > 0) throw violationError(errors);
  return decodeNetConf({ config, cniVersion, warnings: violations });
}

/**
 * Decodes a config the validator accepted. Every GUID given was validated, even one a
 * higher-precedence source overrides: a bad value anywhere is a config error the operator should
 * hear about. A field the validator only warns about (`logLevel`, `logFile`) is ignored and its
 * warning returned with the config.
 */
export function decodeNetConf(
  accepted: {
    config: Record<string, unknown>;
    cniVersion: CniVersion;
    warnings?: readonly Violation[];
  },
): NetConf {
  const { config, cniVersion } = accepted;
  const warnings = (accepted.warnings ?? []).filter((v) => v.severity === "warning");
  const ignored = new Set(warnings.map((v) => v.path));
  const input = netConfSchema.parse(
    Object.fromEntries(Object.entries(config).filter(([key]) => !ignored.has(key))),
  );
  const guid = chooseGuid(input);
  return {
    cniVersion,
    name: input.name,
    type: input.type ?? "",
    ...(input.deviceID === undefined ? {} : { deviceId: input.deviceID.toLowerCase() }),
    ...guid,
    ...(input.pkey ? { pkey: input.pkey } : {}),
    ...(input.link_state ? { linkState: input.link_state } : {}),
    rdmaIsolation: input.rdmaIsolation ?? false,
    ibKubernetesEnabled: input.ibKubernetesEnabled ?? false,
    vfioPciMode: input.vfioPciMode ?? false,
    ...(input.ipam?.type === undefined ? {} : { ipam: { ...input.ipam, type: input.ipam.type } }),
    ...(input.dns === undefined ? {} : { dns: input.dns }),
    argsCni: input.args?.cni ?? {},
    ...(input.prevResult === undefined ? {} : { prevResult: input.prevResult }),
    logLevel: input.logLevel ?? "info",
    ...(input.logFile ? { logFile: input.logFile } : {}),
    ...(input.runtimeConfig?.CNIDeviceInfoFile === undefined
      ? {}
      : { deviceInfoFile: input.runtimeConfig.CNIDeviceInfoFile }),
    ...(warnings.length === 0 ? {} : { warnings }),
  };
}
