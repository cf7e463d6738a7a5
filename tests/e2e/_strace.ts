/**
 * The bundled plugin run under strace, for the tests that inject faults into its syscalls.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const BUNDLE = fileURLToPath(new URL("../../build/ib-sriov.js", import.meta.url));

/**
 * How the bundle's `#!/usr/bin/env -S DENO_DIR=… deno run <flags>` line runs it: its environment
 * assignments and its `deno run` flags.
 */
async function bundleShebang(): Promise<{ env: string[]; flags: string[] }> {
  const shebang = (await Deno.readTextFile(BUNDLE)).split("\n", 1)[0] ?? "";
  const words = shebang.split(/\s+/).filter((w) => w !== "");
  const run = words.indexOf("run");
  assert.ok(shebang.startsWith("#!") && run > 0, `unexpected shebang in ${BUNDLE}: ${shebang}`);
  return {
    env: words.slice(0, run).filter((w) => /^[A-Z_]+=/.test(w)),
    flags: words.slice(run + 1),
  };
}

/**
 * The plugin's command line under strace: Deno as the bundle's shebang runs it, with the same
 * environment assignments, traced on its main thread only (no `-f`), with `args` (an output
 * file, an injection) before it.
 *
 * NOTE: the shebang's `DENO_DIR` matters: it is where the warm-up runs left the V8 code cache.
 * Without it every traced run would find no cache, and a run that writes one makes fsyncs of its
 * own that a later run does not, so the N-th fsync would not be the same step in every run.
 */
export async function straced(args: string[]): Promise<string[]> {
  const { env, flags } = await bundleShebang();
  return [
    "strace",
    "-qq",
    ...env.flatMap((assignment) => ["-E", assignment]),
    ...args,
    Deno.execPath(),
    "run",
    ...flags,
    BUNDLE,
  ];
}
