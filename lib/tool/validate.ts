import { quote } from "../cni/quote.ts";
import { PLUGIN_TYPE } from "../config/limits.ts";
import { errorMessage } from "../error_message.ts";
import { isRecord } from "../is_record.ts";
import type { Violation } from "../config/validate_config.ts";
import { type ConfigDocument, configDocuments } from "./nad.ts";
import type { ToolIo } from "./tool_io.ts";
import { UsageError } from "./usage_error.ts";

/**
 * Rule code of a document that holds no config to validate (YAML syntax, another kind, a NAD
 * without `spec.config`) or a config that holds no ib-sriov plugin: not one of the validator's
 * rules, which start at 1.
 */
export const DOCUMENT_RULE = 0;

/** The fields of a finding about a document as a whole, not a rule of the validator. */
const DOCUMENT_FINDING = { rule: DOCUMENT_RULE, severity: "error", offset: 0 } as const;

/** Edits (insert, delete, replace, swap two neighbours) within which a `type` is a typo of ours. */
const TYPO_DISTANCE = 2;

/** One finding, as `validate --json` prints it. */
export interface Finding {
  /** As named on the command line. */
  file: string;
  /** 1-based YAML document number, for a file of several documents. */
  document?: number;
  /** `metadata.name` of the NetworkAttachmentDefinition. */
  name?: string;
  /** JSON path in the file's terms: `spec.config.ipam.type` for a NAD. */
  path: string;
  /** The validator's rule code; {@linkcode DOCUMENT_RULE} for a document without a config. */
  rule: number;
  /** `warning` for a field the plugin ignores (it never fails a command for one). */
  severity: "error" | "warning";
  /** Byte offset in the config (for a NAD: in the `spec.config` string). */
  offset: number;
  message: string;
  /** For the text form: the file, and which document. */
  source: string;
}

/**
 * The optimal string alignment distance: the edits (insert, delete, replace, swap two
 * neighbours) that turn `a` into `b`, each part edited once.
 */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => {
    const row = new Array<number>(b.length + 1).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** Whether `type` is most likely ours, mistyped: `ib-srio`, `IB-SRIOV`, `ib_sriov`, `ibsriov`. */
function isTypo(type: string): boolean {
  const plain = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");
  return plain(type) === plain(PLUGIN_TYPE) ||
    editDistance(type.toLowerCase(), PLUGIN_TYPE) <= TYPO_DISTANCE;
}

/**
 * Why a config that the runtime would run holds no ib-sriov plugin, naming the likely typo;
 * `null` when it holds one, or when it is not a JSON object (the validator reports that).
 */
function missingPlugin(bytes: Uint8Array): { path: string; message: string } | null {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return null;
  }
  if (!isRecord(json)) return null;
  const typo = (type: string) => isTypo(type) ? ` (a typo of ${quote(PLUGIN_TYPE)}?)` : "";
  const plugins = json["plugins"];
  if (Array.isArray(plugins)) {
    const types = plugins.map((p) => isRecord(p) && typeof p["type"] === "string" ? p["type"] : "");
    if (types.includes(PLUGIN_TYPE)) return null;
    const index = types.findIndex((t) => t !== "" && isTypo(t));
    if (index >= 0) {
      const type = types[index]!;
      return {
        path: `plugins[${index}].type`,
        message: `${quote(type)} is not ${quote(PLUGIN_TYPE)}: the conflist holds no ` +
          `${PLUGIN_TYPE} plugin${typo(type)}`,
      };
    }
    return {
      path: "plugins",
      message: `the conflist holds no plugin of type ${quote(PLUGIN_TYPE)} (types: ${
        types.filter((t) => t !== "").map(quote).join(", ") || "none"
      })`,
    };
  }
  const type = json["type"];
  if (typeof type !== "string" || type === PLUGIN_TYPE) return null;
  return {
    path: "type",
    message: `${quote(type)} is not ${quote(PLUGIN_TYPE)}: the config holds no ${PLUGIN_TYPE} ` +
      `plugin${typo(type)}`,
  };
}

function joinPath(prefix: string, path: string): string {
  if (prefix === "") return path;
  if (path === "") return prefix;
  return path.startsWith("[") ? `${prefix}${path}` : `${prefix}.${path}`;
}

/** Validates every config in one file's contents; every finding, in file order. */
export function validateBytes(
  file: string,
  bytes: Uint8Array,
  validate: (bytes: Uint8Array) => Violation[],
): Finding[] {
  const docs = configDocuments(file, bytes);
  if (docs.length === 0) {
    const message = "holds no document: expected a CNI config, a conflist or a " +
      "NetworkAttachmentDefinition";
    return [{ file, source: file, path: "", ...DOCUMENT_FINDING, message }];
  }
  return docs.flatMap((doc: ConfigDocument) => {
    const where = {
      file,
      source: doc.source,
      ...(doc.document === undefined ? {} : { document: doc.document }),
      ...(doc.name === undefined ? {} : { name: doc.name }),
    };
    if (doc.config === null) {
      return [{
        ...where,
        path: doc.pathPrefix,
        ...DOCUMENT_FINDING,
        message: doc.problem ?? "",
      }];
    }
    const findings: Finding[] = validate(doc.config).map((v) => ({
      ...where,
      path: joinPath(doc.pathPrefix, v.path),
      rule: v.rule,
      severity: v.severity,
      offset: v.offset,
      message: v.details === undefined ? v.message : `${v.message}; ${v.details}`,
    }));
    const missing = missingPlugin(doc.config);
    if (missing !== null) {
      findings.push({
        ...where,
        path: joinPath(doc.pathPrefix, missing.path),
        ...DOCUMENT_FINDING,
        message: missing.message,
      });
    }
    return findings;
  });
}

/**
 * A finding as one line, without the newline: `FILE: path: message` (`FILE: message` for the
 * whole document), with `warning: ` before the path for a warning.
 */
export function formatFinding(finding: Finding): string {
  const path = finding.path === "" ? "" : `${finding.path}: `;
  const severity = finding.severity === "warning" ? "warning: " : "";
  return `${finding.source}: ${severity}${path}${finding.message}`;
}

/**
 * `ib-sriov validate [--json] FILE…`: prints each violation, or `FILE: ok`.
 *
 * @returns 0 when every file is valid (warnings alone are printed and leave it 0), 1 when any
 *   error was found, 2 when a file could not be read
 * @throws {UsageError} for an unknown option or no file
 */
export async function runValidate(args: string[], io: ToolIo): Promise<number> {
  // Imported here, not at the top: the plugin bundle must not load Node compatibility.
  const { parseArgs } = await import("node:util");
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: "boolean", default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length === 0) throw new UsageError("validate: name at least one FILE");
  const findings: Finding[] = [];
  let unreadable = false;
  for (const file of positionals) {
    let bytes: Uint8Array;
    try {
      bytes = await io.readFile(file);
    } catch (err) {
      io.stderr(`${file}: cannot read: ${errorMessage(err)}\n`);
      unreadable = true;
      continue;
    }
    const found = validateBytes(file, bytes, io.validateConfig);
    findings.push(...found);
    if (!values.json && found.length === 0) io.stdout(`${file}: ok\n`);
    if (!values.json) { for (const f of found) io.stdout(`${formatFinding(f)}\n`); }
  }
  if (values.json) {
    const out = findings.map(({ source: _source, ...f }) => f);
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
  }
  if (unreadable) return 2;
  return findings.some((f) => f.severity === "error") ? 1 : 0;
}
