import { CniError, CniErrorCode } from "../cni/errors.ts";
import { quote } from "../cni/quote.ts";
import { guidProblem } from "../guid.ts";
import { DEVICE_INFO_DIR, LOG_DIR, MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH } from "./limits.ts";
import { inputBuffer, memory, outputBuffer, outputLength, validate } from "./validator.wasm";

/**
 * The validator's rule codes (docs/validator.md's "Rules" says what breaks each). The WASM module
 * checks them; this file words their messages. Lower codes are the checks the plugin makes first:
 * the lowest code among a config's violations is the one its error reports.
 */
export const ValidatorRule = {
  Utf8: 1,
  JsonSyntax: 2,
  JsonSize: 3,
  JsonDepth: 4,
  NotObject: 5,
  Name: 6,
  VersionType: 7,
  Version: 8,
  Plugins: 9,
  Type: 10,
  DeviceId: 11,
  DeviceIdRequired: 12,
  Guid: 13,
  Pkey: 14,
  LinkState: 15,
  Boolean: 16,
  Object: 17,
  IpamType: 18,
  IpamDhcp: 19,
  VfioWithRdma: 20,
  Capabilities: 21,
  String: 22,
  LogLevel: 23,
  LogFile: 24,
  DeviceInfoFile: 25,
} as const;

export type ValidatorRuleCode = typeof ValidatorRule[keyof typeof ValidatorRule];

/** Each rule's name: its key in kebab case (`device-id-required`), the version rules' with `cni-`. */
const RULE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ValidatorRule).map(([key, code]) => [
    code,
    (key.startsWith("Version") ? `Cni${key}` : key).replace(/\B[A-Z]/g, (c) => `-${c}`)
      .toLowerCase(),
  ]),
);

/**
 * The rules that only warn: logging never fails a command (sriov-cni's rule). The plugin ignores
 * the field and says so in one warning record; `ib-sriov validate` reports it without failing.
 */
const WARNING_RULES: ReadonlySet<number> = new Set([ValidatorRule.LogLevel, ValidatorRule.LogFile]);

/** validate()'s flag bits (the ABI's). */
const FLAG_REQUIRE_DEVICE_ID = 1;
const FLAG_PLUGIN_CONFIG = 2;
/** Bytes of a record's header: rule, offset, value length, path length (u32, little-endian). */
const RECORD_HEADER = 16;

export interface Violation {
  /** The rule's code, one of {@link ValidatorRule}. */
  rule: number;
  ruleName: string;
  /** `warning` for a rule the plugin never fails a command for (the field is ignored). */
  severity: "error" | "warning";
  /** Where: `ipam.type`, `plugins[1].guid`, `capabilities["a b"]`; empty for the whole input. */
  path: string;
  /** Byte offset in the input of the offending value (of the enclosing object when missing). */
  offset: number;
  /** One line that names the path and the value, as the plugin's errors do. */
  message: string;
  /** What to do about it, or why it happens, for the error's details. */
  details?: string;
}

export interface ValidateOptions {
  /** `deviceID` is required, as for ADD and CHECK. */
  requireDeviceId?: boolean;
  /**
   * The input is one plugin's config, as a runtime passes it on stdin: a `plugins` key is then
   * just an unknown key. Default false: an object with `plugins` is read as a conflist, whose
   * entries of type `ib-sriov` are checked as plugin configs.
   */
  pluginConfig?: boolean;
}

/** How the plugin validates its own config for `command`: ADD and CHECK need `deviceID`. */
export function commandOptions(command: string): ValidateOptions {
  return { pluginConfig: true, requireDeviceId: command === "ADD" || command === "CHECK" };
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function mustBe(path: string, expected: string, value: unknown): string {
  const article = expected === "object" || expected === "array" ? "an" : "a";
  const got = value === null ? "null" : `${typeName(value)} ${quote(value)}`;
  return `${path} must be ${article} ${expected}, got ${got}`;
}

/** `line 3, column 14` of byte `offset`. */
function position(bytes: Uint8Array, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}

function syntaxMessage(bytes: Uint8Array, offset: number): string {
  if (offset >= bytes.length) {
    return `error decoding network config: unexpected end of JSON input at byte ${offset}`;
  }
  const b = bytes[offset]!;
  const what = b >= 0x20 && b < 0x7f
    ? quote(String.fromCharCode(b))
    : `byte 0x${b.toString(16).padStart(2, "0")}`;
  return `error decoding network config: unexpected ${what} at byte ${offset} (${
    position(bytes, offset)
  })`;
}

/** Advice that goes with a rule's message into the error's details, by rule. */
const RULE_DETAILS: Partial<Record<number, string>> = {
  [ValidatorRule.DeviceIdRequired]:
    "Multus sets deviceID from the device plugin resource named by the NetworkAttachmentDefinition's k8s.v1.cni.cncf.io/resourceName annotation",
  [ValidatorRule.IpamDhcp]: "use host-local, static or whereabouts",
  [ValidatorRule.DeviceInfoFile]:
    "Multus sets it when the NetworkAttachmentDefinition's plugin declares capabilities.CNIDeviceInfoFile; do not write it in the config",
  [ValidatorRule.LogLevel]: "records are written at info",
  [ValidatorRule.LogFile]: "records go to stderr",
};

/** The message of one violation; `value` is the offending JSON value, when there is one. */
function describe(
  rule: number,
  path: string,
  value: unknown,
  bytes: Uint8Array,
  offset: number,
): string {
  const present = value !== undefined;
  switch (rule) {
    case ValidatorRule.Utf8:
      return `error decoding network config: invalid UTF-8 at byte ${offset}`;
    case ValidatorRule.JsonSyntax:
      return syntaxMessage(bytes, offset);
    case ValidatorRule.JsonSize:
      return `config is ${bytes.length} bytes, more than ${MAX_CONFIG_BYTES}`;
    case ValidatorRule.JsonDepth:
      return `error decoding network config: nested deeper than ${MAX_CONFIG_DEPTH} levels at byte ${offset} (${
        position(bytes, offset)
      })`;
    case ValidatorRule.NotObject:
      return `error decoding network config: expected a JSON object, got ${quote(value)}`;
    case ValidatorRule.Name:
      return !present || value === ""
        ? "missing network name"
        : `invalid characters found in network name ${quote(value)}`;
    case ValidatorRule.VersionType:
      return path.endsWith("cniVersions")
        ? `cniVersions must be an array of strings, got ${quote(value)}`
        : `cniVersion must be a string, got ${quote(value)}`;
    case ValidatorRule.Version:
      return path.endsWith("cniVersions")
        ? `incompatible CNI versions: none of cniVersions ${quote(value)} is supported`
        : `incompatible CNI versions: cniVersion ${quote(value)} is not supported`;
    case ValidatorRule.Plugins:
      if (path === "plugins" && Array.isArray(value)) return "plugins must not be empty";
      return mustBe(path, path === "plugins" ? "array" : "object", value);
    case ValidatorRule.Type:
      if (!present) return `${path} is required: must be a string`;
      if (value === "") return `${path} "" is invalid: name the plugin`;
      return mustBe(path, "string", value);
    case ValidatorRule.DeviceId:
      if (typeof value !== "string") return mustBe(path, "string", value);
      return `${path} ${
        quote(value)
      } is not a PCI address: expected DDDD:BB:DD.F, e.g. 0000:3b:00.2`;
    case ValidatorRule.DeviceIdRequired:
      return `${path} is required`;
    case ValidatorRule.Guid:
      if (typeof value !== "string") return mustBe(path, "string", value);
      return `${path} ${quote(value)} is not a valid GUID: ${guidProblem(value)}`;
    case ValidatorRule.Pkey:
      if (typeof value !== "string") return mustBe(path, "string", value);
      return /^0x[0-9a-fA-F]{1,4}$/.test(value)
        ? `${path} ${quote(value)} is invalid: the 15-bit partition key must not be 0`
        : `${path} ${quote(value)} is invalid: must be 0x followed by 1 to 4 hex digits`;
    case ValidatorRule.LinkState:
      return `${path} ${quote(value)} is invalid: must be one of auto, enable, disable`;
    case ValidatorRule.Boolean:
      return mustBe(path, "boolean", value);
    case ValidatorRule.Object:
      return mustBe(path, "object", value);
    case ValidatorRule.IpamType:
      if (!present) return `${path} is required: must be a string`;
      if (typeof value !== "string") return mustBe(path, "string", value);
      if (value !== "") {
        return `${path} ${quote(value)} is invalid: must be the file name of a plugin in CNI_PATH`;
      }
      return `${path} "" is invalid: name the IPAM plugin, e.g. host-local`;
    case ValidatorRule.IpamDhcp:
      return `${path} "dhcp" is not supported: the VF has no carrier to run a DHCP client on`;
    case ValidatorRule.VfioWithRdma: {
      const prefix = path.slice(0, -"vfioPciMode".length);
      return `${path} true with ${prefix}rdmaIsolation true is not supported: a vfio-pci device has no RDMA device to isolate`;
    }
    case ValidatorRule.Capabilities:
      return mustBe(path, path.endsWith("capabilities") ? "object" : "boolean", value);
    case ValidatorRule.String:
      return mustBe(path, "string", value);
    case ValidatorRule.LogLevel:
      return `${path} ${quote(value)} is ignored: must be one of error, warning, info, debug`;
    case ValidatorRule.LogFile:
      if (typeof value !== "string") return mustBe(path, "string", value);
      return `${path} ${quote(value)} is ignored: ${logFileProblem(value)}`;
    case ValidatorRule.DeviceInfoFile:
      if (typeof value !== "string") return mustBe(path, "string", value);
      return `${path} ${
        quote(value)
      } is invalid: must be a file name directly in ${DEVICE_INFO_DIR} (no "..", "." or "/" after it, at most 255 bytes)`;
    default:
      return `${path} breaks validator rule ${rule}`;
  }
}

/** Which part of rule 24 a string `logFile` breaks, for its message. */
function logFileProblem(value: string): string {
  const absolute = value.startsWith("/");
  if (absolute && !value.startsWith(`${LOG_DIR}/`)) {
    return `must be beneath "${LOG_DIR}/" or relative to it`;
  }
  const segments = (absolute ? value.slice(LOG_DIR.length + 1) : value).split("/");
  if (value.includes("\0") || segments.some((s) => s === "" || s === "." || s === "..")) {
    return "must not contain NUL, or empty, . or .. segments";
  }
  return "must be at most 4095 bytes long once beneath it, with names of at most 255";
}

/**
 * Validates a network config (a single plugin config or a conflist) from its raw bytes with the
 * WebAssembly validator, before anything parses it. Pure: no permissions, no side effects.
 *
 * @returns every violation, in the order found (at most 64); empty when the config is valid
 */
export function validateConfigBytes(
  bytes: Uint8Array,
  options: ValidateOptions = {},
): Violation[] {
  const flags = (options.requireDeviceId === true ? FLAG_REQUIRE_DEVICE_ID : 0) |
    (options.pluginConfig === true ? FLAG_PLUGIN_CONFIG : 0);
  const address = inputBuffer(bytes.length);
  // 0: more than the limit; nothing is copied and validate() reports the size.
  if (address !== 0) new Uint8Array(memory.buffer, address, bytes.length).set(bytes);
  validate(bytes.length, flags);
  // validate() may have grown memory: take the views after it.
  const start = outputBuffer();
  const out = new DataView(memory.buffer, start, outputLength());
  const text = new TextDecoder();
  const violations: Violation[] = [];
  for (let at = 0; at < out.byteLength;) {
    const rule = out.getUint32(at, true);
    const offset = out.getUint32(at + 4, true);
    const valueLength = out.getUint32(at + 8, true);
    const pathLength = out.getUint32(at + 12, true);
    const path = text.decode(new Uint8Array(memory.buffer, start + at + RECORD_HEADER, pathLength));
    // Values are only reported in well-formed input, so their bytes are one JSON value.
    const value: unknown = valueLength === 0
      ? undefined
      : JSON.parse(text.decode(bytes.subarray(offset, offset + valueLength)));
    violations.push({
      rule,
      ruleName: RULE_NAMES.get(rule) ?? `rule-${rule}`,
      severity: WARNING_RULES.has(rule) ? "warning" : "error",
      path,
      offset,
      message: describe(rule, path, value, bytes, offset),
      ...(RULE_DETAILS[rule] === undefined ? {} : { details: RULE_DETAILS[rule] }),
    });
    at += RECORD_HEADER + ((pathLength + 3) & ~3);
  }
  return violations;
}

/**
 * The CNI error for a config's violations (errors only, at least one): the message of the first
 * (lowest rule code, then position), its advice and the others' messages in the details. The code
 * is the CNI specification's for the fault: 6 for input that is not a JSON object or has a
 * mistyped version field, 1 for an unsupported version, 5 for an oversized input, 7 for the rest.
 */
export function violationError(violations: readonly Violation[]): CniError {
  const sorted = [...violations].sort((a, b) => a.rule - b.rule || a.offset - b.offset);
  const primary = sorted[0];
  if (primary === undefined) throw new RangeError("violationError() needs a violation");
  let code: number = CniErrorCode.InvalidNetworkConfig;
  switch (primary.rule) {
    case ValidatorRule.Utf8:
    case ValidatorRule.JsonSyntax:
    case ValidatorRule.JsonDepth:
    case ValidatorRule.NotObject:
    case ValidatorRule.VersionType:
      code = CniErrorCode.DecodingFailure;
      break;
    case ValidatorRule.JsonSize:
      code = CniErrorCode.IoFailure;
      break;
    case ValidatorRule.Version:
      code = CniErrorCode.IncompatibleVersion;
      break;
  }
  const details = [primary.details ?? [], sorted.slice(1).map((v) => v.message)].flat();
  return new CniError(code, primary.message, { details: details.join("; ") });
}
