/**
 * Finds the CNI configs in a file an operator hands the tool: a network config, a conflist, or
 * Kubernetes NetworkAttachmentDefinitions (JSON, or YAML with any number of documents, read as
 * Kubernetes reads them), whose CNI config is the string in `spec.config`.
 *
 * @module
 */
import { quote } from "../cni/quote.ts";
import { isRecord } from "../is_record.ts";
import { parseAsGoYaml } from "./go_yaml.ts";

const NAD_KIND = "NetworkAttachmentDefinition";
/** Where a NAD keeps its CNI config, as a JSON string. */
const NAD_CONFIG_PATH = "spec.config";

/** One CNI config found in a file, or the reason a document holds none. */
export interface ConfigDocument {
  /** For messages: the file, and for a file of several YAML documents, which one. */
  source: string;
  /** 1-based number of the YAML document, when the file has more than one. */
  document?: number;
  /** `metadata.name` of the NetworkAttachmentDefinition it came from. */
  name?: string;
  /** `spec.config` for a config inside a NAD, `""` for a file that is the config. */
  pathPrefix: string;
  /** The config's bytes, as the validator takes them; `null` when `problem` says why not. */
  config: Uint8Array | null;
  /** Why the document is not a NAD with a config (YAML syntax, another kind, no spec.config). */
  problem?: string;
}

/** The config inside a parsed NAD, or the problem with it. */
function fromNad(nad: Record<string, unknown>, base: Omit<ConfigDocument, "config">) {
  const metadata = nad["metadata"];
  const name = isRecord(metadata) && typeof metadata["name"] === "string"
    ? metadata["name"]
    : undefined;
  const doc: ConfigDocument = {
    ...base,
    ...(name === undefined ? {} : { name }),
    pathPrefix: NAD_CONFIG_PATH,
    config: null,
  };
  const spec = nad["spec"];
  const config = isRecord(spec) ? spec["config"] : undefined;
  if (typeof config !== "string") {
    doc.problem = config === undefined
      ? `${NAD_KIND} ${quote(name ?? "")} has no spec.config: Multus then reads the config ` +
        "from a file on each node, which this tool cannot see"
      : `spec.config must be a string holding the JSON CNI config, got ${quote(config)}`;
    return doc;
  }
  doc.config = new TextEncoder().encode(config);
  return doc;
}

/** Finds the configs in a YAML stream: every document must be a NAD. */
function fromYaml(file: string, text: string): ConfigDocument[] {
  const docs = parseAsGoYaml(text);
  const found: ConfigDocument[] = [];
  // A document of comments alone, or an empty one between two `---`, holds nothing.
  const nonEmpty = [...docs].filter((d) => d.errors.length > 0 || (d.toJS() ?? null) !== null);
  nonEmpty.forEach((doc, i) => {
    const base = nonEmpty.length === 1
      ? { source: file, pathPrefix: "" }
      : { source: `${file} (document ${i + 1})`, document: i + 1, pathPrefix: "" };
    const error = doc.errors[0];
    if (error !== undefined) {
      found.push({ ...base, config: null, problem: `not valid YAML: ${error.message}` });
      return;
    }
    const value: unknown = doc.toJS();
    if (!isRecord(value) || value["kind"] !== NAD_KIND) {
      const kind = isRecord(value) ? value["kind"] : undefined;
      found.push({
        ...base,
        config: null,
        problem: `not a ${NAD_KIND} (kind ${quote(kind ?? null)}); a CNI config must be JSON`,
      });
      return;
    }
    found.push(fromNad(value, base));
  });
  return found;
}

/**
 * Splits a file into the CNI configs it holds. A file that starts with `{` and is not a NAD is
 * handed to the validator as it is, bytes and all, even when it is not valid JSON: the validator
 * reports the syntax error with its offset. Anything else is read as YAML NADs.
 *
 * @returns one entry per config or per document that holds none, in file order; empty for a
 *   YAML file without documents
 */
export function configDocuments(file: string, bytes: Uint8Array): ConfigDocument[] {
  const whole: ConfigDocument = { source: file, pathPrefix: "", config: bytes };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    // Not UTF-8: only the validator can say where.
    return [whole];
  }
  if (!text.trimStart().startsWith("{")) return fromYaml(file, text);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return [whole];
  }
  return isRecord(json) && json["kind"] === NAD_KIND
    ? [fromNad(json, { source: file, pathPrefix: "" })]
    : [whole];
}
