// deno-lint-ignore-file no-console -- a benchmark prints its figures
/**
 * What the WASM config validator costs a plugin process: prints figures, asserts nothing.
 *
 * 1. In a fresh process: loading validate_config.ts (which compiles and instantiates
 *    validator.wasm) and validating one config, timed from inside.
 * 2. The whole process's wall time with and without that work, over many runs: the median
 *    difference is what validation adds to every ADD, CHECK and DEL.
 * 3. Validating the same config again in a warm process (what a long-lived embedder pays).
 *
 * Usage: deno run -A tools/bench_validator.ts [RUNS]
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const CONFIG = new TextEncoder().encode(JSON.stringify({
  cniVersion: "1.0.0",
  name: "ib-net",
  type: "ib-sriov",
  deviceID: "0000:3b:00.2",
  guid: "02:00:00:00:00:00:00:0a",
  pkey: "0x8001",
  link_state: "enable",
  rdmaIsolation: true,
  ipam: { type: "host-local", subnet: "10.56.217.0/24", gateway: "10.56.217.1" },
  runtimeConfig: { infinibandGUID: "02:00:00:00:00:00:00:0b" },
  args: { cni: { guid: "02:00:00:00:00:00:00:0c" } },
}));

/**
 * One process's work. The baseline loads what validate_config.ts imports besides the WASM
 * module, which the plugin loads anyway (errors, quote, GUID helpers), so the difference is the
 * validator's own cost.
 */
async function child(mode: string): Promise<void> {
  const t0 = performance.now();
  if (mode === "validate") {
    const { validateConfigBytes } = await import("../lib/config/validate_config.ts");
    if (validateConfigBytes(CONFIG, { pluginConfig: true }).length !== 0) throw new Error("bad");
  } else {
    await Promise.all([
      import("../lib/cni/errors.ts"),
      import("../lib/cni/quote.ts"),
      import("../lib/guid.ts"),
    ]);
  }
  console.log((performance.now() - t0).toFixed(3));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function runChild(mode: string): Promise<{ wall: number; inside: number }> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-read", join(HERE, "bench_validator.ts"), "--child", mode],
    stdout: "piped",
  }).output();
  const wall = performance.now() - t0;
  if (!out.success) throw new Error(`child ${mode} failed`);
  return { wall, inside: Number(new TextDecoder().decode(out.stdout)) };
}

if (Deno.args[0] === "--child") {
  await child(Deno.args[1] ?? "baseline");
} else {
  const runs = Number(Deno.args[0] ?? "30");
  // Warm the module cache so neither side pays for type checking or downloads.
  await runChild("validate");
  await runChild("baseline");
  const inside: number[] = [];
  const insideBase: number[] = [];
  const withWall: number[] = [];
  const withoutWall: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = await runChild("validate");
    const b = await runChild("baseline");
    inside.push(a.inside);
    insideBase.push(b.inside);
    withWall.push(a.wall);
    withoutWall.push(b.wall);
  }
  const { validateConfigBytes } = await import("../lib/config/validate_config.ts");
  const warmRuns = 10_000;
  const t0 = performance.now();
  for (let i = 0; i < warmRuns; i++) validateConfigBytes(CONFIG, { pluginConfig: true });
  const warm = (performance.now() - t0) / warmRuns;
  console.log(`config: ${CONFIG.length} bytes; ${runs} process pairs`);
  console.log(
    `load + instantiate + validate once, inside a fresh process: median ${
      median(inside).toFixed(3)
    } ms (loading the shared helpers alone: ${median(insideBase).toFixed(3)} ms)`,
  );
  console.log(
    `process wall time: median ${median(withWall).toFixed(1)} ms with the validator, ${
      median(withoutWall).toFixed(1)
    } ms without (difference ${(median(withWall) - median(withoutWall)).toFixed(2)} ms)`,
  );
  console.log(`validate again in a warm process: ${(warm * 1000).toFixed(1)} µs per config`);
}
