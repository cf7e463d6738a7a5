// deno-lint-ignore-file no-console -- a benchmark script talks to the person running it
/**
 * `make bench`: measures the plugin bundle (build/ib-sriov.js) on the simulated InfiniBand node of
 * tests/e2e/sim.ts, side by side with the reference `host-device` plugin of Debian's
 * containernetworking-plugins, which does the closest job (moves a device found by PCI address
 * into a pod, with the same `host-local` IPAM). Prints a table, or the figures as JSON.
 *
 * Usage (as root): deno run -A tools/bench.ts [--json] [--cycles N] [--bundle PATH] [--svg PATH]
 *   --json         print the figures as JSON on stdout (progress still goes to stderr)
 *   --cycles N     ADD+DEL cycles per plugin for the cycle, move and scale figures (default 50,
 *                  at least 5)
 *   --bundle PATH  measure this bundle as it is (e.g. a variant, to weigh a change); by default
 *                  build/ib-sriov.js, rebuilt with `deno task bundle` when missing or older than
 *                  its sources
 *   --svg PATH     where to draw the waterfall (default docs/bench-waterfall.svg)
 *
 * Every plugin run goes through {@linkcode Simulation.runPlugin}: `unshare -m`, four bind mounts,
 * then the plugin. That harness costs the same for both plugins; the `harness` row measures it
 * alone (with `/bin/true` as the plugin) so that it can be told apart from the plugins' own time.
 * Wall times are taken in this process around each child, from spawn to exit.
 *
 * What it measures, in each of three environments (the caller's shell; as containerd and CRI-O
 * run a plugin: no `HOME`; a `HOME` on a read-only mount), the two plugins interleaved:
 * ADD and DEL, and each after its start-up floor (ours: an empty script run by the bundle's own
 * `#!` line; host-device's: its VERSION), start-up, peak RSS of one ADD, and the 8-rail pod
 * (eight ADDs on eight VFs of eight PFs into one pod, then eight DELs, one after another, as
 * Multus runs them). Then, in the shell environment: the phase timeline of ADD and DEL (the
 * plugin's own `timings` record at `logLevel: debug`); ADD+DEL cycles of both plugins traced by
 * the kernel (tools/bench_ftrace.ts), which give the netns move of each, measured the same way,
 * and the waterfall (tools/bench_waterfall.ts); 16 parallel cycles, and ADD on a 1,024-VF tree.
 *
 * Exit status: 0 when every run succeeded (met targets or not: this is a measurement, not a test);
 * 1 when a plugin run or the simulation failed; 2 when cleanup left something behind.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import {
  createSimulation,
  type PluginRun,
  type RunPluginOptions,
  simConfig,
  type Simulation,
  type SimVf,
  sweepLeftovers,
} from "../tests/e2e/sim.ts";
import {
  afterFloor,
  type CycleFigures,
  type EnvFigures,
  type Figures,
  type Machine,
  type MoveFigures,
  type Phase,
  ratio,
  renderTable,
  type Sample,
  type Segment,
  type SegmentKind,
  summarize,
  type Waterfall,
} from "./bench_report.ts";
import { KernelTrace, parseRunTrace, type RunTrace } from "./bench_ftrace.ts";
import { renderWaterfall } from "./bench_waterfall.ts";
import type { TimingEntry } from "../lib/timings.ts";
import { LOG_DIR } from "../lib/config/limits.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const BUNDLE = join(REPO, "build/ib-sriov.js");
/** Where `make bench` draws the waterfall, next to docs/performance.md, which shows it. */
const WATERFALL_SVG = join(REPO, "docs/bench-waterfall.svg");
/** What the bundle is built from: when any is newer than the bundle, it is rebuilt. */
const BUNDLE_SOURCES = [
  "cli.ts",
  "mod.ts",
  "deno.json",
  "deno.lock",
  "lib",
  "ffi",
  "tools/build.ts",
  "tools/permissions.ts",
];
const HOST_DEVICE = "/usr/lib/cni/host-device";
const GNU_TIME = "/usr/bin/time";
/** Runs before any measured one, so that V8's code cache and the page cache are warm. */
const WARMUP_RUNS = 3;
const STARTUP_RUNS = 30;
const RSS_RUNS = 5;
/** The 8-rail pod: one VF on each of 8 PFs, attached to one pod. */
const RAILS = 8;
const RAIL8_ROUNDS = 5;
const TIMELINE_RUNS = 10;
const PARALLEL = 16;
const PARALLEL_ROUNDS = 3;
const SCALE_VFS = 1024;
const SCALE_PFS = 8;

/** A failure that ends the benchmark: a plugin run that did not succeed, a missing tool. */
class BenchError extends Error {
  override name = "BenchError";
}

function progress(text: string): void {
  console.error(`bench: ${text}`);
}

/** Awaits `run` and returns its result with the wall time it took, in ms. */
async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await run();
  return { ms: performance.now() - start, value };
}

async function mtime(path: string): Promise<number> {
  const info = await Deno.stat(path);
  if (!info.isDirectory) return info.mtime?.getTime() ?? 0;
  let newest = 0;
  for await (const entry of Deno.readDir(path)) {
    newest = Math.max(newest, await mtime(join(path, entry.name)));
  }
  return newest;
}

/** Builds the bundle with `deno task bundle` when it is missing or older than its sources. */
async function ensureBundle(): Promise<void> {
  let bundleTime = -1;
  try {
    bundleTime = (await Deno.stat(BUNDLE)).mtime?.getTime() ?? -1;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const sourceTimes = await Promise.all(BUNDLE_SOURCES.map((s) => mtime(join(REPO, s))));
  if (bundleTime >= Math.max(...sourceTimes)) return;
  progress(bundleTime < 0 ? "no bundle: building it" : "the bundle is stale: rebuilding it");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "bundle"],
    cwd: REPO,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new BenchError("Cannot build the bundle: `deno task bundle` failed");
}

/** Runs a command that must succeed (mount, umount). */
async function run(argv: string[]): Promise<void> {
  const [program, ...args] = argv;
  const out = await new Deno.Command(program!, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new BenchError(
      `${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** A plugin under test: how to run it inside the simulation, and its config for a VF. */
interface Plugin {
  label: string;
  /** The plugin's command line. */
  argv: string[];
  config(sim: Simulation, vf: SimVf): Record<string, unknown>;
}

/** Both plugins get the same `host-local` IPAM and route; only the device key differs. */
function ours(bundle: string): Plugin {
  return {
    label: "ib-sriov",
    argv: [bundle],
    config: (sim, vf) => simConfig(sim, { deviceID: vf.pci }),
  };
}
const REFERENCE: Plugin = {
  label: "host-device",
  argv: [HOST_DEVICE],
  config(sim, vf) {
    const { deviceID: _, ...rest } = simConfig(sim, {
      name: "ib-sim-hd",
      type: "host-device",
      pciBusID: vf.pci,
    });
    return rest;
  },
};

/**
 * The environment a plugin process gets. A runtime (containerd, CRI-O) runs as a system service:
 * no `HOME` (Deno then takes root's home from the password database), or a home on a read-only
 * root file system; never the caller's `DENO_DIR`.
 */
interface EnvVariant {
  label: string;
  /** Variables of the simulation's default environment (the caller's) left out. */
  unset: string[];
  env: Record<string, string>;
}

const SHELL_ENV: EnvVariant = {
  label: "shell: the caller's HOME and DENO_DIR",
  unset: [],
  env: {},
};

/** The runtime's environments; `readOnlyHome` is a directory on a read-only mount. */
function runtimeEnvs(readOnlyHome: string): EnvVariant[] {
  return [
    { label: "runtime: no HOME, no DENO_DIR", unset: ["HOME", "DENO_DIR"], env: {} },
    {
      label: "runtime: read-only HOME, no DENO_DIR",
      unset: ["DENO_DIR"],
      env: { HOME: readOnlyHome },
    },
  ];
}

/** The options of one run of `plugin` on `vf` (into the first pod unless `extra` says). */
function runOptions(
  plugin: Plugin,
  sim: Simulation,
  vf: SimVf,
  command: string,
  variant: EnvVariant,
  extra: Partial<RunPluginOptions> = {},
): RunPluginOptions {
  return {
    command,
    config: plugin.config(sim, vf),
    containerId: `${sim.containerId}-${plugin.label}-${vf.index}`,
    pluginArgv: plugin.argv,
    unset: variant.unset,
    env: variant.env,
    ...extra,
  };
}

function checkRun(run: PluginRun, what: string): PluginRun {
  if (run.code !== 0) {
    throw new BenchError(
      `${what} failed with exit status ${run.code}: ${(run.stdout + run.stderr).trim()}`,
    );
  }
  return run;
}

/** ADD, then DEL with the ADD result as `prevResult`, as a runtime does; wall times in ms. */
async function cycle(
  plugin: Plugin,
  sim: Simulation,
  vf: SimVf,
  variant: EnvVariant = SHELL_ENV,
  extra: Partial<RunPluginOptions> = {},
): Promise<{ add: number; del: number }> {
  const what = `${plugin.label} on ${vf.pci}`;
  const options = runOptions(plugin, sim, vf, "ADD", variant, extra);
  const add = await timed(() => sim.runPlugin(options));
  checkRun(add.value, `ADD of ${what}`);
  const delConfig = { ...(options.config as Record<string, unknown>), prevResult: add.value.json };
  const del = await timed(() => sim.runPlugin({ ...options, command: "DEL", config: delConfig }));
  checkRun(del.value, `DEL of ${what}`);
  return { add: add.ms, del: del.ms };
}

/** Samples of one plugin's ADDs and DELs, and their sums. */
function cycleSamples() {
  return { add: [] as number[], del: [] as number[], cycle: [] as number[] };
}

function summarizeCycles(s: ReturnType<typeof cycleSamples>): CycleFigures {
  return { add: summarize(s.add), del: summarize(s.del), cycle: summarize(s.cycle) };
}

/** Runs `round` for both plugins `rounds` times, alternating who goes first. */
async function interleaved(
  rounds: number,
  round: (who: "ours" | "reference") => Promise<{ add: number; del: number }>,
): Promise<{ ours: CycleFigures; reference: CycleFigures }> {
  const samples = { ours: cycleSamples(), reference: cycleSamples() };
  for (let i = -WARMUP_RUNS; i < rounds; i++) {
    const order = i % 2 === 0 ? ["ours", "reference"] as const : ["reference", "ours"] as const;
    for (const who of order) {
      const { add, del } = await round(who);
      if (i < 0) continue;
      samples[who].add.push(add);
      samples[who].del.push(del);
      samples[who].cycle.push(add + del);
    }
  }
  return { ours: summarizeCycles(samples.ours), reference: summarizeCycles(samples.reference) };
}

/** 1. ADD+DEL cycles of both plugins, interleaved (and alternating who goes first). */
function measureCycles(
  sim: Simulation,
  oursPlugin: Plugin,
  cycles: number,
  variant: EnvVariant,
): Promise<EnvFigures["cycle"]> {
  const [oursVf, refVf] = sim.vfs;
  if (oursVf === undefined || refVf === undefined) throw new BenchError("Need two VFs");
  return interleaved(
    cycles,
    (who) =>
      who === "ours"
        ? cycle(oursPlugin, sim, oursVf, variant)
        : cycle(REFERENCE, sim, refVf, variant),
  );
}

/** The harness alone: `/bin/true` through the same `unshare -m` and bind mounts. */
async function measureHarness(sim: Simulation, runs: number): Promise<Sample> {
  const vf = sim.vfs[0];
  if (vf === undefined) throw new BenchError("Need a VF");
  const harness: Plugin = { label: "harness", argv: ["/bin/true"], config: REFERENCE.config };
  const samples: number[] = [];
  for (let i = -WARMUP_RUNS; i < runs; i++) {
    const { ms } = await timed(() =>
      sim.runPlugin(runOptions(harness, sim, vf, "VERSION", SHELL_ENV))
    );
    if (i >= 0) samples.push(ms);
  }
  return summarize(samples);
}

/**
 * The command line of an empty script run exactly as the bundle's own `#!` line runs the bundle
 * (its `env -S` assignments included), read from the bundle measured, so that an older build
 * gets its own floor.
 */
async function floorArgv(bundle: string, emptyScript: string): Promise<string[]> {
  const file = await Deno.open(bundle);
  try {
    const head = new Uint8Array(512);
    const n = await file.read(head) ?? 0;
    const first = new TextDecoder().decode(head.subarray(0, n)).split("\n", 1)[0] ?? "";
    const words = first.replace(/^#!/, "").split(" ").filter((w) => w !== "" && w !== "-S");
    if (words[0] !== "/usr/bin/env" || !words.includes("run")) {
      throw new BenchError(`Unexpected shebang in ${bundle}: ${first}`);
    }
    return [...words, emptyScript];
  } finally {
    file.close();
  }
}

/**
 * 2. Start-up: our VERSION, the empty script with the bundle's shebang (our floor),
 * host-device's VERSION (its floor) and the harness alone (`/bin/true`), interleaved, each
 * through the harness like an ADD.
 */
async function measureStartup(
  sim: Simulation,
  oursPlugin: Plugin,
  floor: string[],
  variant: EnvVariant,
): Promise<EnvFigures["startup"]> {
  const vf = sim.vfs[0];
  if (vf === undefined) throw new BenchError("Need a VF");
  const plugins: Record<"ours" | "floor" | "reference" | "harness", Plugin> = {
    ours: oursPlugin,
    floor: { label: "floor", argv: floor, config: REFERENCE.config },
    reference: REFERENCE,
    harness: { label: "harness", argv: ["/bin/true"], config: REFERENCE.config },
  };
  const samples = {
    ours: [] as number[],
    floor: [] as number[],
    reference: [] as number[],
    harness: [] as number[],
  };
  for (let i = -WARMUP_RUNS; i < STARTUP_RUNS; i++) {
    for (const who of ["ours", "floor", "reference", "harness"] as const) {
      const { ms, value } = await timed(() =>
        sim.runPlugin(runOptions(plugins[who], sim, vf, "VERSION", variant, { config: "" }))
      );
      checkRun(value, `${who} start-up run`);
      if (i >= 0) samples[who].push(ms);
    }
  }
  return {
    ours: summarize(samples.ours),
    floor: summarize(samples.floor),
    reference: summarize(samples.reference),
    harness: summarize(samples.harness),
  };
}

/**
 * 3. Peak RSS (GNU time's `%M`, the kernel's `ru_maxrss` of the child, which also covers the
 * IPAM plugin it waits for) of ADDs of both plugins, and of the empty script.
 */
async function measureRss(
  sim: Simulation,
  oursPlugin: Plugin,
  floor: string[],
  variant: EnvVariant,
): Promise<EnvFigures["rss"]> {
  if (!await exists(GNU_TIME)) {
    progress(`${GNU_TIME} is missing (Debian package "time"): no RSS figures`);
    return null;
  }
  const [oursVf, refVf] = sim.vfs;
  if (oursVf === undefined || refVf === undefined) throw new BenchError("Need two VFs");
  const out = join(sim.dir, "rss.txt");
  const readKb = async () => Number((await Deno.readTextFile(out)).trim().split("\n").at(-1));
  const underTime = (argv: string[]) => [GNU_TIME, "-f", "%M", "-o", out, ...argv];
  const samples = { ours: [] as number[], reference: [] as number[], floor: [] as number[] };
  for (let i = 0; i < RSS_RUNS; i++) {
    for (
      const [who, plugin, vf] of [
        ["ours", oursPlugin, oursVf],
        ["reference", REFERENCE, refVf],
      ] as const
    ) {
      const options = runOptions(plugin, sim, vf, "ADD", variant, {
        pluginArgv: underTime(plugin.argv),
      });
      const add = checkRun(await sim.runPlugin(options), `ADD of ${plugin.label} under GNU time`);
      samples[who].push(await readKb() / 1024);
      const delConfig = { ...plugin.config(sim, vf), prevResult: add.json };
      checkRun(
        await sim.runPlugin({ ...runOptions(plugin, sim, vf, "DEL", variant), config: delConfig }),
        `DEL of ${plugin.label}`,
      );
    }
    const empty: Plugin = { label: "floor", argv: underTime(floor), config: REFERENCE.config };
    checkRun(
      await sim.runPlugin(runOptions(empty, sim, oursVf, "VERSION", variant, { config: "" })),
      "the empty script under GNU time",
    );
    samples.floor.push(await readKb() / 1024);
  }
  return {
    ours: summarize(samples.ours),
    reference: summarize(samples.reference),
    floor: summarize(samples.floor),
  };
}

/**
 * Rail `n`'s network, as an AI node's NADs give each rail: a subnet of its own and a route to
 * its rail's remote network (a default route through every rail would collide).
 */
function railConfig(plugin: Plugin, sim: Simulation, vf: SimVf, n: number) {
  const config = plugin.config(sim, vf);
  return {
    ...config,
    name: `${config.name}-rail${n}`,
    ipam: {
      type: "host-local",
      subnet: `10.57.${n}.0/24`,
      gateway: `10.57.${n}.1`,
      dataDir: sim.ipamDataDir,
      routes: [{ dst: `10.58.${n}.0/24` }],
    },
  };
}

/**
 * 4. The 8-rail pod, as Multus attaches it: eight ADDs into one pod (net1…net8), each on a VF
 * of its own PF, one after another; then the eight DELs in reverse. Both plugins, interleaved.
 */
function measureRail8(
  sim: Simulation,
  oursPlugin: Plugin,
  rounds: number,
  variant: EnvVariant,
): Promise<{ ours: CycleFigures; reference: CycleFigures }> {
  const rails = sim.vfs.slice(0, RAILS);
  if (rails.length < RAILS) throw new BenchError(`Need ${RAILS} VFs`);
  return interleaved(rounds, async (who) => {
    const plugin = who === "ours" ? oursPlugin : REFERENCE;
    const containerId = `${sim.containerId}-rail8-${plugin.label}`;
    const adds = rails.map((vf, n) =>
      runOptions(plugin, sim, vf, "ADD", variant, {
        containerId,
        ifname: `net${n + 1}`,
        config: railConfig(plugin, sim, vf, n),
      })
    );
    const results: PluginRun[] = [];
    const add = await timed(async () => {
      for (const options of adds) {
        results.push(checkRun(await sim.runPlugin(options), `8-rail ADD of ${plugin.label}`));
      }
    });
    const del = await timed(async () => {
      for (const [n, options] of [...adds.entries()].reverse()) {
        const config = {
          ...(options.config as Record<string, unknown>),
          prevResult: results[n]?.json,
        };
        checkRun(
          await sim.runPlugin({ ...options, command: "DEL", config }),
          `8-rail DEL of ${plugin.label}`,
        );
      }
    });
    return { add: add.ms, del: del.ms };
  });
}

/** Everything measured in one environment. */
async function measureEnv(
  sims: { node: Simulation; rails: Simulation },
  oursPlugin: Plugin,
  floor: string[],
  cycles: number,
  variant: EnvVariant,
): Promise<EnvFigures> {
  progress(`${variant.label}: ${cycles} ADD+DEL cycles per plugin, interleaved`);
  const cycle = await measureCycles(sims.node, oursPlugin, cycles, variant);
  progress(`${variant.label}: start-up (VERSION, the empty script)`);
  const startup = await measureStartup(sims.node, oursPlugin, floor, variant);
  progress(`${variant.label}: peak RSS of one ADD`);
  const rss = await measureRss(sims.node, oursPlugin, floor, variant);
  progress(`${variant.label}: the 8-rail pod`);
  const rail8 = await measureRail8(sims.rails, oursPlugin, RAIL8_ROUNDS, variant);
  const oursFloor = startup.floor.median;
  const refFloor = startup.reference.median;
  const railsAfter = afterFloor(
    rail8.ours.cycle.median,
    2 * RAILS * oursFloor,
    rail8.reference.cycle.median,
    2 * RAILS * refFloor,
  );
  return {
    env: variant.label,
    cycle,
    startup,
    afterFloor: {
      add: afterFloor(cycle.ours.add.median, oursFloor, cycle.reference.add.median, refFloor),
      del: afterFloor(cycle.ours.del.median, oursFloor, cycle.reference.del.median, refFloor),
    },
    rss,
    rail8: { ...rail8, ratio: railsAfter.ratio },
  };
}

/**
 * Our plugin at `logLevel: debug`, which ends each command with its `timings` record in `name`
 * beneath LOG_DIR (which the simulation binds to its own logDir).
 */
function atDebug(plugin: Plugin, name: string): Plugin {
  return {
    ...plugin,
    config: (s, v) => ({
      ...plugin.config(s, v),
      logLevel: "debug",
      logFile: `${LOG_DIR}/${name}`,
    }),
  };
}

/** The plugin's debug `timings` records in `logFile`, by command. */
async function timingRecords(logFile: string): Promise<Map<string, TimingEntry[][]>> {
  const byCommand = new Map<string, TimingEntry[][]>();
  let text = "";
  try {
    text = await Deno.readTextFile(logFile);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const record = JSON.parse(line) as { msg?: string; command?: string; timings?: TimingEntry[] };
    if (record.msg !== "timings" || record.timings === undefined) continue;
    const list = byCommand.get(record.command ?? "") ?? [];
    list.push(record.timings);
    byCommand.set(record.command ?? "", list);
  }
  return byCommand;
}

/**
 * The median timeline of runs that recorded the same phases in the same order (the most common
 * sequence; a run that took another path is left out).
 */
function medianTimeline(runs: TimingEntry[][]): Phase[] {
  const key = (run: TimingEntry[]) => run.map((e) => e.phase).join("\n");
  const counts = new Map<string, number>();
  for (const run of runs) counts.set(key(run), (counts.get(key(run)) ?? 0) + 1);
  const common = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const same = runs.filter((run) => key(run) === common);
  const first = same[0] ?? [];
  const median = (pick: (e: TimingEntry) => number | undefined) => (i: number) =>
    summarize(same.map((run) => pick(run[i]!) ?? 0)).median;
  const phases = first.map((entry, i): Phase => ({
    phase: entry.phase,
    at: median((e) => e.at)(i),
    ...(entry.ms === undefined ? {} : { ms: median((e) => e.ms)(i) }),
    ...(entry.rssMiB === undefined ? {} : { rssMiB: median((e) => e.rssMiB)(i) }),
  }));
  // A span is recorded when it ends, after the spans inside it: in time order, each begins first.
  return phases.sort((a, b) => a.at - b.at);
}

/** 5. The phase timeline of ADD and DEL, from the plugin's own debug record. */
async function measureTimeline(
  sim: Simulation,
  oursPlugin: Plugin,
): Promise<Figures["timeline"]> {
  const vf = sim.vfs[0];
  if (vf === undefined) throw new BenchError("Need a VF");
  const debug = atDebug(oursPlugin, "timings.log");
  const walls = { add: [] as number[], del: [] as number[] };
  for (let i = -WARMUP_RUNS; i < TIMELINE_RUNS; i++) {
    const { add, del } = await cycle(debug, sim, vf);
    if (i < 0) continue;
    walls.add.push(add);
    walls.del.push(del);
  }
  const records = await timingRecords(join(sim.logDir, "timings.log"));
  const adds = (records.get("ADD") ?? []).slice(WARMUP_RUNS);
  const dels = (records.get("DEL") ?? []).slice(WARMUP_RUNS);
  if (adds.length === 0 || dels.length === 0) return null;
  return {
    add: medianTimeline(adds),
    del: medianTimeline(dels),
    addWall: summarize(walls.add).median,
    delWall: summarize(walls.del).median,
    runs: TIMELINE_RUNS,
  };
}

/** A moment of a run, and the kind of the stretch it begins (`end` ends the last one). */
interface Mark {
  name: string;
  at: number;
  kind: SegmentKind | "end";
  /**
   * The mark this one ends a span from (the move's, IPAM's start): its median is placed at that
   * mark's median plus the span's median, so that the picture shows the median span.
   */
  from?: string;
}

/** The move and IPAM of a run: the moments both plugins have. */
function sharedMarks(run: RunTrace): Mark[] {
  const marks: Mark[] = [];
  if (run.move !== null) {
    marks.push(
      { name: "move", at: run.move.start, kind: "move" },
      { name: "move end", at: run.move.start + run.move.ms, kind: "work", from: "move" },
    );
  }
  if (run.ipam !== null) {
    marks.push(
      { name: "ipam", at: run.ipam.start, kind: "ipam" },
      { name: "ipam end", at: run.ipam.end, kind: "work", from: "ipam" },
    );
  }
  return marks;
}

/**
 * Our run's moments: those of the kernel's trace, and from its own timeline of the same run,
 * placed on the trace's axis by the move, which both saw: the bundle evaluated, and the command
 * done (after which the process exits).
 */
function oursMarks(run: RunTrace, timeline: TimingEntry[]): Mark[] | null {
  const at = (phase: string) => timeline.find((e) => e.phase === phase)?.at;
  const moved = at("netlink.moveLink");
  const evaluated = at("bundle evaluated");
  const done = at("command done");
  if (run.move === null || moved === undefined || evaluated === undefined || done === undefined) {
    return null;
  }
  const offset = run.move.start - moved;
  return [
    { name: "start", at: 0, kind: "startup" },
    { name: "evaluated", at: offset + evaluated, kind: "work" },
    ...sharedMarks(run),
    { name: "done", at: offset + done, kind: "exit" },
    { name: "exit", at: run.exit, kind: "end" },
  ];
}

/** host-device's moments: start-up until its first netlink request. */
function referenceMarks(run: RunTrace): Mark[] {
  return [
    { name: "start", at: 0, kind: "startup" },
    ...(run.firstRequest === null
      ? []
      : [{ name: "first request", at: run.firstRequest, kind: "work" as const }]),
    ...sharedMarks(run),
    { name: "exit", at: run.exit, kind: "end" },
  ];
}

/**
 * The median of each moment over the runs that have it, as stretches in the order of those
 * medians (a span's end placed by its median span, and never before the moment it follows).
 */
function medianSegments(runs: Mark[][]): Segment[] {
  const names = new Map<string, Mark>();
  for (const run of runs) for (const m of run) names.set(m.name, m);
  const median = (value: (run: Mark[]) => number | undefined) =>
    summarize(runs.flatMap((run) => value(run) ?? [])).median;
  const at = (run: Mark[], name: string) => run.find((m) => m.name === name)?.at;
  const span = (run: Mark[], from: string, to: string) => {
    const [start, end] = [at(run, from), at(run, to)];
    return start === undefined || end === undefined ? undefined : end - start;
  };
  const marks = [...names.values()].map(({ name, kind, from }) => ({
    kind,
    order: median((run) => at(run, name)),
    at: from === undefined
      ? median((run) => at(run, name))
      : median((run) => at(run, from)) + median((run) => span(run, from, name)),
  })).sort((a, b) => a.order - b.order);
  const segments: Segment[] = [];
  marks.forEach((m, i) => {
    const next = marks[i + 1];
    if (i > 0) m.at = Math.max(m.at, marks[i - 1]!.at);
    if (m.kind !== "end" && next !== undefined) {
      segments.push({ kind: m.kind, start: m.at, end: Math.max(m.at, next.at) });
    }
  });
  return segments;
}

/**
 * 6. ADD+DEL cycles of both plugins, interleaved, each run traced by the kernel (ours at
 * logLevel debug): the move measured the same way for both, and the waterfall.
 */
async function measureTraced(
  sim: Simulation,
  oursPlugin: Plugin,
  cycles: number,
): Promise<{ moves: MoveFigures; waterfall: Waterfall } | null> {
  const trace = await KernelTrace.open(`ib-sriov-bench-${sim.suffix}`);
  if (trace === null) {
    progress("the kernel has no tracer with syscall tracepoints: no move figures, no waterfall");
    return null;
  }
  try {
    return await traced(sim, oursPlugin, cycles, trace);
  } finally {
    await trace.close();
  }
}

/** The cycles of {@linkcode measureTraced}, with its trace instance open. */
async function traced(
  sim: Simulation,
  oursPlugin: Plugin,
  cycles: number,
  trace: KernelTrace,
): Promise<{ moves: MoveFigures; waterfall: Waterfall }> {
  const [oursVf, refVf] = sim.vfs;
  if (oursVf === undefined || refVf === undefined) throw new BenchError("Need two VFs");
  const debug = atDebug(oursPlugin, "traced.log");
  const runs = {
    ours: { add: [] as RunTrace[], del: [] as RunTrace[] },
    reference: { add: [] as RunTrace[], del: [] as RunTrace[] },
  };
  const run = async (plugin: Plugin, options: RunPluginOptions) => {
    await trace.clear();
    const result = await sim.runPlugin(options);
    checkRun(result, `${options.command} of ${plugin.label}`);
    return { result, trace: parseRunTrace(await trace.read(), plugin.argv[0]!, "host-local") };
  };
  const cycleOf = async (who: "ours" | "reference", plugin: Plugin, vf: SimVf) => {
    const options = runOptions(plugin, sim, vf, "ADD", SHELL_ENV);
    const add = await run(plugin, options);
    const config = { ...(options.config as Record<string, unknown>), prevResult: add.result.json };
    const del = await run(plugin, { ...options, command: "DEL", config });
    runs[who].add.push(add.trace);
    runs[who].del.push(del.trace);
    // The wall times of traced runs are not figures: the cycle figures are taken untraced.
    return { add: 0, del: 0 };
  };
  await interleaved(
    cycles,
    (who) => who === "ours" ? cycleOf(who, debug, oursVf) : cycleOf(who, REFERENCE, refVf),
  );
  const records = await timingRecords(join(sim.logDir, "traced.log"));
  const measured = <T>(list: T[]) => list.slice(WARMUP_RUNS);
  const moveSample = (list: RunTrace[]) =>
    summarize(measured(list).flatMap((r) => r.move === null ? [] : [r.move.ms]));
  const ours = { add: moveSample(runs.ours.add), del: moveSample(runs.ours.del) };
  const reference = { add: moveSample(runs.reference.add), del: moveSample(runs.reference.del) };
  const row = (cmd: "add" | "del") => {
    const timelines = records.get(cmd.toUpperCase()) ?? [];
    const oursRuns = runs.ours[cmd].flatMap((r, i) => {
      const marks = i < WARMUP_RUNS ? null : oursMarks(r, timelines[i] ?? []);
      return marks === null ? [] : [marks];
    });
    return [
      { label: "ib-sriov", segments: medianSegments(oursRuns) },
      {
        label: "host-device",
        segments: medianSegments(measured(runs.reference[cmd]).map(referenceMarks)),
      },
    ];
  };
  return {
    moves: {
      ours,
      reference,
      ratio: {
        add: ratio(ours.add.median, reference.add.median),
        del: ratio(ours.del.median, reference.del.median),
      },
    },
    waterfall: { runs: cycles, add: row("add"), del: row("del") },
  };
}

/** 7. PARALLEL ADDs at once, each on its own VF into its own pod, then PARALLEL DELs at once. */
async function measureParallel(
  sim: Simulation,
  plugin: Plugin,
  singleCycleMs: number,
): Promise<Figures["parallel"][number]> {
  const rounds: { add: number; del: number; total: number }[] = [];
  const vfs = sim.vfs.slice(0, PARALLEL);
  for (let round = 0; round < PARALLEL_ROUNDS; round++) {
    const adds = vfs.map((vf, n) =>
      runOptions(plugin, sim, vf, "ADD", SHELL_ENV, { netns: sim.podNetnsPaths[n] ?? null })
    );
    const add = await timed(() => Promise.all(adds.map((options) => sim.runPlugin(options))));
    add.value.forEach((run, n) => checkRun(run, `parallel ADD ${n} of ${plugin.label}`));
    const dels = adds.map((options, n) => ({
      ...options,
      command: "DEL",
      config: { ...(options.config as Record<string, unknown>), prevResult: add.value[n]?.json },
    }));
    const del = await timed(() => Promise.all(dels.map((options) => sim.runPlugin(options))));
    del.value.forEach((run, n) => checkRun(run, `parallel DEL ${n} of ${plugin.label}`));
    rounds.push({ add: add.ms, del: del.ms, total: add.ms + del.ms });
  }
  const total = summarize(rounds.map((r) => r.total));
  return {
    plugin: plugin.label,
    add: summarize(rounds.map((r) => r.add)),
    del: summarize(rounds.map((r) => r.del)),
    total,
    serial: PARALLEL * singleCycleMs,
    ratio: ratio(total.median, PARALLEL * singleCycleMs),
  };
}

/** 8. ADD of the last VF of a 4-VF tree against the last VF of a 1,024-VF, 8-PF tree. */
async function measureScale(
  oursPlugin: Plugin,
  small: Simulation,
  large: Simulation,
  cycles: number,
): Promise<Figures["scale"]> {
  const smallVf = small.vfs.at(-1);
  const largeVf = large.vfs.at(-1);
  if (smallVf === undefined || largeVf === undefined) throw new BenchError("Need a VF");
  for (let i = 0; i < WARMUP_RUNS; i++) {
    await cycle(oursPlugin, small, smallVf);
    await cycle(oursPlugin, large, largeVf);
  }
  const samples = { small: [] as number[], large: [] as number[] };
  for (let i = 0; i < cycles; i++) {
    const order = i % 2 === 0 ? ["small", "large"] as const : ["large", "small"] as const;
    for (const which of order) {
      const sim = which === "small" ? small : large;
      samples[which].push(
        (await cycle(oursPlugin, sim, which === "small" ? smallVf : largeVf)).add,
      );
    }
  }
  const smallAdd = summarize(samples.small);
  const largeAdd = summarize(samples.large);
  return {
    small: {
      vfs: small.pfs.reduce((n, pf) => n + pf.vfCount, 0),
      pfs: small.pfs.length,
      add: smallAdd,
    },
    large: {
      vfs: large.pfs.reduce((n, pf) => n + pf.vfCount, 0),
      pfs: large.pfs.length,
      add: largeAdd,
    },
    ratio: ratio(largeAdd.median, smallAdd.median),
  };
}

/** The 1-minute load average, or -1 when `/proc/loadavg` cannot be read. */
async function loadAverage(): Promise<number> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  const load = Number(text.split(" ")[0]);
  return text === "" || Number.isNaN(load) ? -1 : load;
}

async function machine(loadBefore: number): Promise<Machine> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown CPU";
  const hostDevice = await new Deno.Command("dpkg-query", {
    args: ["-W", "-f", "${Version}", "containernetworking-plugins"],
    stdout: "piped",
    stderr: "null",
  }).output().then((o) => new TextDecoder().decode(o.stdout).trim()).catch(() => "");
  return {
    cpu: model,
    cores: navigator.hardwareConcurrency,
    memoryGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    hostDevice: hostDevice || "unknown",
    date: new Date().toISOString(),
    load: loadBefore,
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      json: { type: "boolean", default: false },
      cycles: { type: "string", default: "50" },
      bundle: { type: "string" },
      svg: { type: "string", default: WATERFALL_SVG },
    },
  });
  const cycles = Number(values.cycles);
  if (!Number.isInteger(cycles) || cycles < 5) {
    console.error(`bench: --cycles must be an integer of at least 5, got "${values.cycles}"`);
    return 1;
  }
  if (Deno.uid() !== 0) {
    console.error("bench: must run as root (it creates links, network namespaces and mounts)");
    return 1;
  }
  if (!await exists(HOST_DEVICE)) {
    console.error(`bench: ${HOST_DEVICE} is missing: install containernetworking-plugins`);
    return 1;
  }
  if (values.bundle === undefined) {
    try {
      await ensureBundle();
    } catch (err) {
      console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    }
  } else if (!await exists(values.bundle)) {
    console.error(`bench: no bundle at "${values.bundle}"`);
    return 1;
  }
  const bundle = values.bundle ?? BUNDLE;
  const oursPlugin = ours(bundle);
  const swept = await sweepLeftovers();
  const sweptNames = [...swept.links, ...swept.netns, ...swept.dirs];
  if (sweptNames.length > 0) {
    progress(`removed leftovers of earlier runs: ${sweptNames.join(", ")}`);
  }

  // Every simulation is cleaned up whatever happens, Ctrl-C included.
  const sims: Simulation[] = [];
  const cleanupAll = async () => {
    await KernelTrace.closeAll();
    for (const sim of sims) await sim.cleanup().catch((err) => console.error(String(err)));
  };
  const onSignal = (signal: Deno.Signal, code: number) => () => {
    progress(`${signal}: cleaning up`);
    void cleanupAll().then(() => Deno.exit(code));
  };
  const onInt = onSignal("SIGINT", 130);
  const onTerm = onSignal("SIGTERM", 143);
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);

  const loadBefore = await loadAverage();
  let status = 0;
  let readOnlyHome: string | null = null;
  try {
    progress(
      `building the simulated nodes (16 VFs and 16 pods; ${RAILS} PFs of 1 VF; 4 VFs; 1,024 VFs on 8 PFs)`,
    );
    const node = await createSimulation({ vfs: PARALLEL, pods: PARALLEL });
    sims.push(node);
    const rails = await createSimulation({ vfs: RAILS, pfs: RAILS });
    sims.push(rails);
    const small = await createSimulation({ vfs: 4 });
    sims.push(small);
    const large = await createSimulation({ vfs: SCALE_VFS, pfs: SCALE_PFS, linkedVfs: 1 });
    sims.push(large);
    const emptyScript = join(node.dir, "empty.js");
    await Deno.writeTextFile(emptyScript, "");
    const floor = await floorArgv(bundle, emptyScript);
    // A home that cannot be written, as on a read-only root file system.
    readOnlyHome = join(node.dir, "read-only-home");
    await Deno.mkdir(readOnlyHome);
    await run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "bench-ro-home", readOnlyHome]);

    progress("the harness alone");
    const harness = await measureHarness(node, cycles);
    const envs: EnvFigures[] = [];
    for (const variant of [SHELL_ENV, ...runtimeEnvs(readOnlyHome)]) {
      envs.push(await measureEnv({ node, rails }, oursPlugin, floor, cycles, variant));
    }
    progress(`the phase timeline: ${TIMELINE_RUNS} ADD+DEL cycles at logLevel debug`);
    const timeline = await measureTimeline(node, oursPlugin);
    progress(`the move and the waterfall: ${cycles} ADD+DEL cycles per plugin, traced`);
    const traced = await measureTraced(node, oursPlugin, cycles);
    const shell = envs[0]!.cycle;
    progress(`${PARALLEL} parallel ADDs, then ${PARALLEL} parallel DELs`);
    const parallel = [
      await measureParallel(node, oursPlugin, shell.ours.cycle.median),
      await measureParallel(node, REFERENCE, shell.reference.cycle.median),
    ];
    progress(`scale: 4 VFs against ${SCALE_VFS} VFs on ${SCALE_PFS} PFs`);
    const scale = await measureScale(oursPlugin, small, large, cycles);

    const figures: Figures = {
      machine: await machine(loadBefore),
      cycles,
      harness,
      envs,
      timeline,
      moves: traced?.moves ?? null,
      waterfall: traced?.waterfall ?? null,
      parallel,
      scale,
    };
    if (figures.waterfall !== null) {
      const m = figures.machine;
      await Deno.writeTextFile(
        values.svg,
        renderWaterfall(
          figures.waterfall,
          `Medians of ${cycles} runs each, from the kernel's tracer and our own timeline; ` +
            `${m.cores} cores, Linux ${m.kernel}, ${m.date.slice(0, 10)}.`,
        ),
      );
      // `deno task ok` checks the formatting of every SVG in the tree.
      await new Deno.Command(Deno.execPath(), {
        args: ["fmt", "-q", values.svg],
        cwd: REPO,
        stdout: "null",
      })
        .output();
      progress(`drew the waterfall in ${values.svg}`);
    }
    console.log(values.json ? JSON.stringify(figures, null, 2) : renderTable(figures));
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    status = 1;
  } finally {
    if (readOnlyHome !== null) await run(["umount", readOnlyHome]).catch(() => {});
    await cleanupAll();
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
  }
  // Look for what might remain rather than trust that cleanup worked.
  for (const sim of sims) {
    const residue = await sim.residue();
    const left = [...residue.links, ...residue.netns, ...residue.dirs, ...residue.mounts];
    if (left.length > 0) {
      console.error(`bench: left behind: ${left.join(", ")}`);
      status = 2;
    }
  }
  return status;
}

Deno.exit(await main());
