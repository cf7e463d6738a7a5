/**
 * Reads YAML as go-yaml, the parser Kubernetes reads manifests with, reads it.
 *
 * NOTE: go-yaml v2 and v3 are ports of libyaml's scanner (scannerc.go). Two of its leniencies
 * matter for NetworkAttachmentDefinitions, and the `yaml` package, which follows YAML 1.2,
 * refuses both:
 * - A single- or double-quoted scalar checks no indentation (`yaml_parser_scan_flow_scalar`): it
 *   ends only at its closing quote, a `---` or `...` at column 0 ("found unexpected document
 *   indicator") or the end of the stream, and the leading spaces and tabs of each continuation
 *   line are skipped. The Go plugin's README writes its NADs so: `config: '{` with the JSON's
 *   lines, closing brace and quote included, at or left of the `config:` key.
 * - Inside a flow collection (`{…}`, `[…]`) no indentation is checked either
 *   (`yaml_parser_unroll_indent` does nothing at a flow level above 0).
 * In both, a continuation line's leading white space is not part of any value. So where the
 * `yaml` package stops such a node before go-yaml would, indenting its continuation lines past
 * the node's first character gives a stream that the `yaml` package reads to go-yaml's values.
 * Only white space at the start of lines inside a node go-yaml closes is added: nothing that
 * go-yaml refuses becomes valid.
 *
 * @module
 */
import { type Document, parseAllDocuments, Parser } from "yaml";

/** A YAML line break, as libyaml reads one. */
const LINE_BREAK = /\r\n|\r|\n/y;
/** `---` or `...` and a blank or the end: a document marker, where it starts a line. */
const DOCUMENT_MARKER = /(?:---|\.\.\.)(?:[ \t\r\n]|$)/y;
/** A line with nothing but blanks: it folds the same at any indentation. */
const BLANK_LINE = /^[ \t]*(?:\r\n|\r|\n|$)/;

/** Where go-yaml ends a node: its last character, and where each line after its first starts. */
interface Extent {
  close: number;
  lines: number[];
}

/**
 * Steps over a line break at `i`, when there is one, noting the line it starts.
 *
 * @returns the offset after the break, `i` when there is none, or `null` when the new line
 *   starts with a document marker (go-yaml ends the document there, inside the node)
 */
function lineBreak(text: string, i: number, lines: number[]): number | null {
  LINE_BREAK.lastIndex = i;
  if (!LINE_BREAK.test(text)) return i;
  const next = LINE_BREAK.lastIndex;
  DOCUMENT_MARKER.lastIndex = next;
  if (DOCUMENT_MARKER.test(text)) return null;
  lines.push(next);
  return next;
}

/** The quoted scalar opening at `open`, as go-yaml scans it; `null` where go-yaml fails. */
function quotedExtent(text: string, open: number): Extent | null {
  const quote = text[open];
  const lines: number[] = [];
  let i = open + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === quote) {
      // '' inside a single-quoted scalar is a quote, not the end.
      if (quote === "'" && text[i + 1] === "'") {
        i += 2;
        continue;
      }
      return { close: i, lines };
    }
    // In a double-quoted scalar a backslash escapes the next character; an escaped line break
    // still starts a continuation line.
    if (quote === '"' && c === "\\") {
      const next = text[i + 1];
      i += next === "\n" || next === "\r" ? 1 : 2;
      continue;
    }
    const after = lineBreak(text, i, lines);
    if (after === null) return null;
    i = after === i ? i + 1 : after;
  }
  return null;
}

/**
 * The flow collection opening at `open`, as go-yaml scans it: nested collections, quoted
 * scalars (which may hold brackets) and comments (`#` after a blank, which may hold anything)
 * are stepped over. `null` where go-yaml fails: no closing bracket, or a document marker.
 */
function flowExtent(text: string, open: number): Extent | null {
  const lines: number[] = [];
  let depth = 0;
  // A quote opens a quoted scalar only where a node may start, not inside a plain scalar.
  let nodeStart = true;
  let i = open;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "{" || c === "[") {
      depth++;
      nodeStart = true;
      i++;
    } else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return { close: i, lines };
      nodeStart = false;
      i++;
    } else if ((c === "'" || c === '"') && nodeStart) {
      const inner = quotedExtent(text, i);
      if (inner === null) return null;
      lines.push(...inner.lines);
      i = inner.close + 1;
      nodeStart = false;
    } else if (c === "#" && (i === 0 || /[ \t\r\n]/.test(text[i - 1]!))) {
      while (i < text.length && text[i] !== "\n" && text[i] !== "\r") i++;
    } else if (c === " " || c === "\t") {
      i++;
    } else {
      const after = lineBreak(text, i, lines);
      if (after === null) return null;
      if (after !== i) {
        i = after;
        continue;
      }
      nodeStart = c === "," || c === ":" || c === "?";
      i++;
    }
  }
  return null;
}

/** A node of the `yaml` package's CST that go-yaml may read further than it does. */
interface Candidate {
  offset: number;
  /** Whether the `yaml` package ended the node before `close`. */
  endsBefore(close: number): boolean;
  extent(text: string): Extent | null;
}

/** The quoted scalars and flow collections of a CST token, in source order. */
function* candidates(node: unknown): Generator<Candidate> {
  if (typeof node !== "object" || node === null) return;
  if (Array.isArray(node)) {
    for (const item of node) yield* candidates(item);
    return;
  }
  const token = node as Record<string, unknown>;
  const { type, offset, source } = token;
  if (
    (type === "single-quoted-scalar" || type === "double-quoted-scalar") &&
    typeof offset === "number" && typeof source === "string"
  ) {
    yield {
      offset,
      endsBefore: (close) => offset + source.length - 1 < close,
      extent: (text) => quotedExtent(text, offset),
    };
  }
  if (type === "flow-collection" && typeof offset === "number") {
    const end = Array.isArray(token["end"]) ? token["end"] as { type?: string }[] : [];
    const closed = end.some((t) => t.type === "flow-map-end" || t.type === "flow-seq-end");
    // A collection the `yaml` package closed is read the same by both: nothing to scan.
    if (!closed) {
      yield { offset, endsBefore: () => true, extent: (text) => flowExtent(text, offset) };
    }
  }
  for (const value of Object.values(token)) yield* candidates(value);
}

/** Parses a YAML stream as go-yaml reads it (see the module's note), as `parseAllDocuments`. */
export function parseAsGoYaml(text: string): Document.Parsed[] {
  let source = text;
  // Each pass indents the first node the two read differently; passes only move forward.
  let after = -1;
  for (;;) {
    let fix: { offset: number; lines: number[] } | undefined;
    search: for (const token of new Parser().parse(source)) {
      for (const node of candidates(token)) {
        if (node.offset <= after) continue;
        const extent = node.extent(source);
        if (extent !== null && extent.lines.length > 0 && node.endsBefore(extent.close)) {
          fix = { offset: node.offset, lines: extent.lines };
          break search;
        }
      }
    }
    if (fix === undefined) return [...parseAllDocuments(source)];
    after = fix.offset;
    const column = fix.offset - (source.lastIndexOf("\n", fix.offset - 1) + 1);
    const pad = " ".repeat(column + 1);
    const lines = fix.lines;
    let out = source.slice(0, lines[0]);
    lines.forEach((start, k) => {
      const line = source.slice(start, lines[k + 1] ?? source.length);
      out += BLANK_LINE.test(line) ? line : pad + line;
    });
    source = out;
  }
}
