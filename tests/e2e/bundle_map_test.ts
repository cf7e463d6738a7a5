/**
 * The bundle's source map, as `make bundle` writes it next to the bundle: stack traces of the
 * minified plugin name the source line only if the map accounts for the `#!` line the build puts
 * in front of deno bundle's output. Runs on the built bundle, like the rest of this tier.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const BUNDLE = fileURLToPath(new URL("../../build/ib-sriov.js", import.meta.url));
const SOURCE = fileURLToPath(new URL("../../lib/plugin/add.ts", import.meta.url));
const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** The numbers of one source map segment (base64 VLQ). */
function decodeSegment(segment: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = BASE64.indexOf(char);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    values.push(value & 1 ? -(value >> 1) : value >> 1);
    value = 0;
    shift = 0;
  }
  return values;
}

/** The source and 1-based line the map gives for a 0-based generated line and column. */
function originalPosition(
  map: { sources: string[]; mappings: string },
  line: number,
  column: number,
): { source: string; line: number } | null {
  let source = 0;
  let sourceLine = 0;
  let found: { source: string; line: number } | null = null;
  map.mappings.split(";").forEach((segments, generatedLine) => {
    let generatedColumn = 0;
    for (const segment of segments.split(",")) {
      if (segment === "") continue;
      const [dColumn = 0, dSource, dLine] = decodeSegment(segment);
      generatedColumn += dColumn;
      if (dSource === undefined || dLine === undefined) continue;
      source += dSource;
      sourceLine += dLine;
      if (generatedLine === line && generatedColumn <= column) {
        found = { source: map.sources[source]!, line: sourceLine + 1 };
      }
    }
  });
  return found;
}

Deno.test("the bundle's source map points a message of the minified plugin at its source line", () => {
  const bundle = Deno.readTextFileSync(BUNDLE);
  const map = JSON.parse(Deno.readTextFileSync(`${BUNDLE}.map`));
  assert.ok(bundle.startsWith("#!"), "the bundle starts with its #! line");
  const message = "is the host's own network namespace";
  const lines = bundle.split("\n");
  const line = lines.findIndex((text) => text.includes(message));
  assert.ok(line > 0, `"${message}" is in the bundle`);
  const sourceLine = Deno.readTextFileSync(SOURCE).split("\n")
    .findIndex((text) => text.includes(message)) + 1;
  assert.deepEqual(originalPosition(map, line, lines[line]!.indexOf(message)), {
    source: "../lib/plugin/add.ts",
    line: sourceLine,
  });
});
