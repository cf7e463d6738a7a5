// deno-lint-ignore-file no-console -- a benchmark script talks to the person running it
/**
 * `make bench`: measures the plugin bundle (build/ib-sriov.js) on the simulated InfiniBand node of
 * tests/e2e/sim.ts, side by side with the reference `host-device` plugin of Debian's
 * containernetworking-plugins, which does the closest job (moves a device found by PCI address
 * into a pod, with the same `host-local` IPAM). Prints a table, or the figures as JSON.
 *
 * Usage (as root): deno run -A tools/bench.ts [--json] [--cycles N] [--bundle PATH]
 *   --json         print the figures as JSON on stdout (progress still goes to stderr)
 *   --cycles N     ADD+DEL cycles per plugin for the cycle and scale figures (default 50, at
 *                  least 5)
 *   --bundle PATH  measure this bundle as it is (e.g. a variant, to weigh a change); by default
 *                  build/ib-sriov.js, rebuilt with `deno task bundle` when missing or older than
 *                  its sources
 *
 * Every plugin run goes through {@linkcode Simulation.runPlugin}: `unshare -m`, four bind mounts,
 * then the plugin. That harness costs the same for both plugins; the `harness` row measures it
 * alone (with `/bin/true` as the plugin) so that it can be told apart from the plugins' own time.
 * Wall times are taken in this process around each child, from spawn to exit.
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
import { shebangLine } from "./permissions.ts";
import { type Figures, type Machine, ratio, renderTable, summarize } from "./bench_report.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const BUNDLE = join(REPO, "build/ib-sriov.js");
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
const STARTUP_RUNS = 60;
const RSS_RUNS = 5;
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

/** The options of one run of `plugin` on `vf` (into the first pod unless `extra` says). */
function runOptions(
  plugin: Plugin,
  sim: Simulation,
  vf: SimVf,
  command: string,
  extra: Partial<RunPluginOptions> = {},
): RunPluginOptions {
  return {
    command,
    config: plugin.config(sim, vf),
    containerId: `${sim.containerId}-${plugin.label}-${vf.index}`,
    pluginArgv: plugin.argv,
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
): Promise<{ add: number; del: number }> {
  const what = `${plugin.label} on ${vf.pci}`;
  const options = runOptions(plugin, sim, vf, "ADD");
  const add = await timed(() => sim.runPlugin(options));
  checkRun(add.value, `ADD of ${what}`);
  const delConfig = { ...plugin.config(sim, vf), prevResult: add.value.json };
  const del = await timed(() => sim.runPlugin({ ...options, command: "DEL", config: delConfig }));
  checkRun(del.value, `DEL of ${what}`);
  return { add: add.ms, del: del.ms };
}

/** 1. ADD+DEL cycles of both plugins, interleaved (and alternating who goes first). */
async function measureCycles(
  sim: Simulation,
  oursPlugin: Plugin,
  cycles: number,
): Promise<Figures["cycle"]> {
  const [oursVf, refVf] = sim.vfs;
  if (oursVf === undefined || refVf === undefined) throw new BenchError("Need two VFs");
  const harness: Plugin = { label: "harness", argv: ["/bin/true"], config: oursPlugin.config };
  const samples = {
    ours: { add: [] as number[], del: [] as number[], cycle: [] as number[] },
    reference: { add: [] as number[], del: [] as number[], cycle: [] as number[] },
    harness: [] as number[],
  };
  for (let i = 0; i < WARMUP_RUNS; i++) {
    await cycle(oursPlugin, sim, oursVf);
    await cycle(REFERENCE, sim, refVf);
  }
  for (let i = 0; i < cycles; i++) {
    const order = i % 2 === 0 ? ["ours", "reference"] as const : ["reference", "ours"] as const;
    for (const who of order) {
      const { add, del } = who === "ours"
        ? await cycle(oursPlugin, sim, oursVf)
        : await cycle(REFERENCE, sim, refVf);
      samples[who].add.push(add);
      samples[who].del.push(del);
      samples[who].cycle.push(add + del);
    }
    samples.harness.push(
      (await timed(() => sim.runPlugin(runOptions(harness, sim, oursVf, "ADD"))))
        .ms,
    );
  }
  const ours = summarize(samples.ours.cycle);
  const reference = summarize(samples.reference.cycle);
  const harnessRun = summarize(samples.harness);
  return {
    ours: { add: summarize(samples.ours.add), del: summarize(samples.ours.del), cycle: ours },
    reference: {
      add: summarize(samples.reference.add),
      del: summarize(samples.reference.del),
      cycle: reference,
    },
    harness: harnessRun,
    ratio: ratio(ours.median, reference.median),
    // Without the harness (two runs per cycle): what the plugins themselves cost.
    netRatio: ratio(ours.median - 2 * harnessRun.median, reference.median - 2 * harnessRun.median),
  };
}

/**
 * The bundle's own `deno run …` arguments, from the one place they are kept, so that the empty
 * script runs exactly as the plugin does.
 */
function denoRunArgs(): string[] {
  const [deno, ...args] = shebangLine().replace(/^#!\/usr\/bin\/env -S /, "").split(" ");
  if (deno !== "deno" || args[0] !== "run") {
    throw new BenchError(`Unexpected shebang: ${shebangLine()}`);
  }
  return args;
}

/** The environment of a start-up run: the plugin's PATH, and where Deno keeps its code cache. */
function startupEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: `${join(Deno.execPath(), "..")}:/usr/sbin:/usr/bin:/sbin:/bin`,
  };
  for (const name of ["HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** 2. `CNI_COMMAND=VERSION` of both plugins, and an empty script under the bundle's flags. */
async function measureStartup(bundle: string, emptyScript: string): Promise<Figures["startup"]> {
  const env = startupEnv();
  const version = { ...env, CNI_COMMAND: "VERSION" };
  const commands: Record<
    "ours" | "floor" | "reference",
    [string, string[], Record<string, string>]
  > = {
    ours: [bundle, [], version],
    floor: [Deno.execPath(), [...denoRunArgs(), emptyScript], env],
    reference: [HOST_DEVICE, [], version],
  };
  const samples = { ours: [] as number[], floor: [] as number[], reference: [] as number[] };
  for (let i = -WARMUP_RUNS; i < STARTUP_RUNS; i++) {
    for (const who of ["ours", "floor", "reference"] as const) {
      const [program, args, childEnv] = commands[who];
      const { ms, value } = await timed(() =>
        new Deno.Command(program, {
          args,
          env: childEnv,
          clearEnv: true,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output()
      );
      if (!value.success) {
        throw new BenchError(
          `${who} start-up run failed: ${new TextDecoder().decode(value.stderr).trim()}`,
        );
      }
      if (i >= 0) samples[who].push(ms);
    }
  }
  const ours = summarize(samples.ours);
  const floor = summarize(samples.floor);
  const reference = summarize(samples.reference);
  return {
    ours,
    floor,
    reference,
    oursToFloor: ratio(ours.median, floor.median),
    oursToReference: ratio(ours.median, reference.median),
  };
}

/**
 * 3. Peak RSS (GNU time's `%M`, the kernel's `ru_maxrss` of the child, which also covers the
 * IPAM plugin it waits for) of ADDs of both plugins, and of the empty script.
 */
async function measureRss(
  sim: Simulation,
  oursPlugin: Plugin,
  emptyScript: string,
): Promise<Figures["rss"]> {
  if (!await exists(GNU_TIME)) {
    progress(`${GNU_TIME} is missing (Debian package "time"): no RSS figures`);
    return null;
  }
  const [oursVf, refVf] = sim.vfs;
  if (oursVf === undefined || refVf === undefined) throw new BenchError("Need two VFs");
  const out = join(sim.dir, "rss.txt");
  const readKb = async () => Number((await Deno.readTextFile(out)).trim().split("\n").at(-1));
  const samples = { ours: [] as number[], reference: [] as number[], floor: [] as number[] };
  for (let i = 0; i < RSS_RUNS; i++) {
    for (
      const [who, plugin, vf] of [["ours", oursPlugin, oursVf], [
        "reference",
        REFERENCE,
        refVf,
      ]] as const
    ) {
      const argv = [GNU_TIME, "-f", "%M", "-o", out, ...plugin.argv];
      const options = runOptions(plugin, sim, vf, "ADD", { pluginArgv: argv });
      const add = checkRun(await sim.runPlugin(options), `ADD of ${plugin.label} under GNU time`);
      samples[who].push(await readKb() / 1024);
      const delConfig = { ...plugin.config(sim, vf), prevResult: add.json };
      checkRun(
        await sim.runPlugin({ ...runOptions(plugin, sim, vf, "DEL"), config: delConfig }),
        `DEL of ${plugin.label}`,
      );
    }
    const floor = await new Deno.Command(GNU_TIME, {
      args: ["-f", "%M", "-o", out, Deno.execPath(), ...denoRunArgs(), emptyScript],
      env: startupEnv(),
      clearEnv: true,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!floor.success) throw new BenchError("The empty script failed under GNU time");
    samples.floor.push(await readKb() / 1024);
  }
  return {
    ours: summarize(samples.ours),
    reference: summarize(samples.reference),
    floor: summarize(samples.floor),
  };
}

/** 4. PARALLEL ADDs at once, each on its own VF into its own pod, then PARALLEL DELs at once. */
async function measureParallel(
  sim: Simulation,
  plugin: Plugin,
  singleCycleMs: number,
): Promise<Figures["parallel"][number]> {
  const rounds: { add: number; del: number; total: number }[] = [];
  const vfs = sim.vfs.slice(0, PARALLEL);
  for (let round = 0; round < PARALLEL_ROUNDS; round++) {
    const adds = vfs.map((vf, n) =>
      runOptions(plugin, sim, vf, "ADD", { netns: sim.podNetnsPaths[n] ?? null })
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

/** 5. ADD of the last VF of a 4-VF tree against the last VF of a 1,024-VF, 8-PF tree. */
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
  try {
    progress("building the simulated nodes (16 VFs and 16 pods; 4 VFs; 1,024 VFs on 8 PFs)");
    const node = await createSimulation({ vfs: PARALLEL, pods: PARALLEL });
    sims.push(node);
    const small = await createSimulation({ vfs: 4 });
    sims.push(small);
    const large = await createSimulation({ vfs: SCALE_VFS, pfs: SCALE_PFS, linkedVfs: 1 });
    sims.push(large);
    const emptyScript = join(node.dir, "empty.js");
    await Deno.writeTextFile(emptyScript, "");

    progress(`1/5 ADD+DEL cycles: ${cycles} per plugin, interleaved`);
    const cycle = await measureCycles(node, oursPlugin, cycles);
    progress("2/5 start-up (CNI_COMMAND=VERSION)");
    const startup = await measureStartup(bundle, emptyScript);
    progress("3/5 peak RSS of one ADD");
    const rss = await measureRss(node, oursPlugin, emptyScript);
    progress(`4/5 ${PARALLEL} parallel ADDs, then ${PARALLEL} parallel DELs`);
    const parallel = [
      await measureParallel(node, oursPlugin, cycle.ours.cycle.median),
      await measureParallel(node, REFERENCE, cycle.reference.cycle.median),
    ];
    progress(`5/5 scale: 4 VFs against ${SCALE_VFS} VFs on ${SCALE_PFS} PFs`);
    const scale = await measureScale(oursPlugin, small, large, cycles);

    const figures: Figures = {
      machine: await machine(loadBefore),
      cycles,
      cycle,
      startup,
      rss,
      parallel,
      scale,
    };
    console.log(values.json ? JSON.stringify(figures, null, 2) : renderTable(figures));
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    status = 1;
  } finally {
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
