// deno-lint-ignore-file no-console -- a build script talks to the person running it
/**
 * Builds the config validator: compiles lib/config/validator/validator.ts (AssemblyScript) to
 * lib/config/validator.wasm, which is committed. The output is byte-reproducible: the compiler
 * and Binaryen versions are pinned (here and in deno.lock), no name section or source map is
 * emitted, and the source path is always given relative to the repository root.
 * tests/unit/config/validator_stale_test.ts rebuilds it and compares the bytes.
 *
 * Usage: deno run -A tools/build_wasm.ts [OUT.wasm]
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: every path below is relative to it. */
export const REPO_ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The AssemblyScript source, relative to the root. */
export const WASM_SOURCE = "lib/config/validator/validator.ts";
/** The committed module, relative to the root. */
export const WASM_OUTPUT = "lib/config/validator.wasm";

/**
 * The compiler's arguments: the stub runtime and an empty `abort` leave the module without
 * imports; `--noAssert` drops assertion traps.
 *
 * @param out where to write the module
 * @returns the arguments for `deno run`
 */
export function ascArgs(out: string): string[] {
  return [
    "run",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "npm:assemblyscript@0.28.20/asc",
    WASM_SOURCE,
    "--runtime",
    "stub",
    "--use",
    "abort=",
    "-O3",
    "--noAssert",
    "-o",
    out,
  ];
}

/**
 * Compiles the validator.
 *
 * @param out the output file (absolute, or relative to the repository root)
 * @returns the compiler's error output when it fails, else `null`
 */
export async function buildWasm(out: string): Promise<string | null> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ascArgs(out),
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (result.success) return null;
  const text = new TextDecoder().decode(result.stderr) + new TextDecoder().decode(result.stdout);
  return text.trim() === "" ? `asc exited with status ${result.code}` : text.trim();
}

if (import.meta.main) {
  const out = Deno.args[0] ?? WASM_OUTPUT;
  const failure = await buildWasm(out);
  if (failure !== null) {
    console.error(`build:wasm: compiling ${WASM_SOURCE} failed:\n${failure}`);
    Deno.exit(1);
  }
  console.error(`wrote ${out}`);
}
