/**
 * SIGKILL at each step of ADD, and at each step of DEL, on the simulated VF, through the plugin
 * process itself (the bundle, `make bundle` first). Root only; needs strace.
 *
 * There is no hook in the plugin: strace's fault injection (`-e inject=<syscall>:signal=KILL:
 * when=N`) kills it on entry to the N-th call of a syscall, before the kernel runs it. The
 * syscalls that mark the plugin's steps, all made on its main thread (the one strace traces, as
 * it runs without `-f`), are:
 *
 * - `sendmsg`: every netlink request libnl sends (look-ups, rename, move into the pod, address,
 *   link up, route);
 * - `fsync` and `renameat`: every atomic write of the state files (lock owner, allocation record,
 *   attachment record): a kill at the file's fsync leaves the temp file, at the rename the temp
 *   file complete, at the directory's fsync the new file in place;
 * - `unlinkat`: removals (a stale temp file, the lock's owner file; in DEL also the attachment
 *   and allocation records);
 * - `pipe2` and `wait4`: the IPAM plugin's start (the pipes for its stdin and stdout, before it
 *   exists) and its end (reaping it, before its result is read). Not `clone3`: the main thread
 *   also starts a varying number of Deno's own threads with it, so its N-th call is not the same
 *   step in every run.
 *
 * A first ADD under strace lists them in order; then, for each, a fresh ADD is killed there, the
 * runtime's DEL follows (as it must after a failed ADD), and the node must be exactly as before:
 * links, pod, routes, state files (lock files aside: they are created once and never removed; so
 * no temp file, no allocation record, no lock owner file) and host-local's leases. The same for
 * DEL: after an ADD, a DEL killed at each of its steps, then the runtime's retry, which must
 * succeed and leave the node as before. Strace counts calls per syscall (and per thread), so the
 * N-th `sendmsg` is the same request in every run: the plugin's path does not depend on anything
 * that changes between runs, once Deno's caches are warm.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createSimulation, type PluginRun, settled, simConfig, type Simulation } from "./sim.ts";
import { straced } from "./_strace.ts";

const ROOT = Deno.uid() === 0;
/** The syscalls that mark the plugin's steps (see the module comment). */
const STEP_SYSCALLS = ["sendmsg", "fsync", "renameat", "unlinkat", "pipe2", "wait4"] as const;
type StepSyscall = typeof STEP_SYSCALLS[number];
/**
 * At most this many kill points per command: each costs an ADD and a DEL or two (0.2–0.5 s), so
 * the file stays well within 90 s. One ADD makes about 35 such calls today and one DEL about 20,
 * all taken; if either ever makes more, every k-th is taken plus the first and last few (see
 * {@link sample}).
 */
const MAX_KILL_POINTS = 60;
/** How many of the first and of the last kill points {@link sample} always keeps. */
const KEEP_ENDS = 5;
/** Exit status of a process killed by SIGKILL, as Deno reports it. */
const KILLED = 128 + 9;

/** One place to kill the plugin: on entry to the `nth` call of `syscall`. */
interface KillPoint {
  syscall: StepSyscall;
  nth: number;
  /** What the call does, for failure messages. */
  what: string;
}

function ok(run: PluginRun, what: string): void {
  assert.equal(run.code, 0, `${what} failed: ${run.stdout}${run.stderr}`);
}

/**
 * A short description of one line of `strace -y`, e.g. `sendmsg #7 RTM_NEWLINK` or
 * `fsync #3 0000:3b:00.1.tmp-123` (the file or directory the call is about).
 */
function describe(syscall: string, nth: number, line: string): string {
  const detail = syscall === "sendmsg"
    ? /nlmsg_type=([A-Z_]+|0x[0-9a-f]+)/.exec(line)?.[1]
    : /^\w+\((?:\d+<([^>]+)>|"([^"]+)")/.exec(line)?.slice(1).find((s) => s !== undefined)
      ?.split("/").at(-1);
  return `${syscall} #${nth}${detail === undefined ? "" : ` ${detail}`}`;
}

/**
 * Runs `command` once under strace and lists its kill points in the order they happen.
 *
 * @returns every call of a {@link STEP_SYSCALLS} syscall
 */
async function killPoints(
  sim: Simulation,
  command: string,
  config: Record<string, unknown>,
): Promise<KillPoint[]> {
  const log = join(sim.dir, `strace-${command}.log`);
  const run = await sim.runPlugin({
    command,
    config,
    pluginArgv: await straced(["-y", "-o", log, "-e", `trace=${STEP_SYSCALLS.join(",")}`]),
  });
  ok(run, `${command} under strace`);
  const counts = new Map<string, number>();
  const points: KillPoint[] = [];
  for (const line of (await Deno.readTextFile(log)).split("\n")) {
    const syscall = /^(\w+)\(/.exec(line)?.[1] as StepSyscall | undefined;
    if (syscall === undefined || !STEP_SYSCALLS.includes(syscall)) continue;
    const nth = (counts.get(syscall) ?? 0) + 1;
    counts.set(syscall, nth);
    points.push({ syscall, nth, what: describe(syscall, nth, line) });
  }
  return points;
}

/**
 * At most {@link MAX_KILL_POINTS} of `points`: all of them when they fit, else the first and
 * last {@link KEEP_ENDS} and every k-th in between.
 */
function sample(points: KillPoint[]): KillPoint[] {
  if (points.length <= MAX_KILL_POINTS) return points;
  const middle = points.slice(KEEP_ENDS, -KEEP_ENDS);
  const k = Math.ceil(middle.length / (MAX_KILL_POINTS - 2 * KEEP_ENDS));
  return [
    ...points.slice(0, KEEP_ENDS),
    ...middle.filter((_, i) => i % k === 0),
    ...points.slice(-KEEP_ENDS),
  ];
}

/** Runs `command` under strace, killed on entry to the kill point; asserts it was killed. */
async function runKilled(
  sim: Simulation,
  command: string,
  config: Record<string, unknown>,
  point: KillPoint,
): Promise<void> {
  const inject = `inject=${point.syscall}:signal=KILL:when=${point.nth}`;
  const run = await sim.runPlugin({
    command,
    config,
    pluginArgv: await straced(["-o", "/dev/null", "-e", inject]),
  });
  assert.equal(
    run.code,
    KILLED,
    `${command} was not killed at ${point.what}: exit ${run.code} ${run.stdout}${run.stderr}`,
  );
}

/**
 * How each state file was replaced in a run traced with `-y`, in order: `<path>: fsync, rename,
 * fsync dir` for a write that must survive a power cut, without the directory's fsync for one
 * whose previous version serves as well, `rename` alone for a file on the tmpfs. The fsyncs are
 * those right before and after the rename: of its temp file, and of its directory.
 */
function atomicWrites(log: string): string[] {
  const lines = log.split("\n").filter((line) => /^(fsync|renameat)\(/.test(line));
  const fileOf = (line = "") => /^fsync\(\d+<([^>]+)>/.exec(line)?.[1];
  return lines.flatMap((line, i) => {
    const rename = /^renameat\(\d+<([^>]+)>, "([^"]+)", \d+<[^>]+>, "([^"]+)"\)/.exec(line);
    if (rename === null) return [];
    const [, dir, tmp, name] = rename;
    const steps = [
      ...(fileOf(lines[i - 1]) === `${dir}/${tmp}` ? ["fsync"] : []),
      "rename",
      ...(fileOf(lines[i + 1]) === dir ? ["fsync dir"] : []),
    ];
    return [`${dir}/${name}: ${steps.join(", ")}`];
  });
}

/** Names of the files in `dir`, recursively, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) {
      names.push(...(await filesUnder(join(dir, entry.name))).map((n) => `${entry.name}/${n}`));
    } else names.push(entry.name);
  }
  return names.sort();
}

Deno.test({
  name: "plugin killed at each step of ADD: the following DEL leaves the node as before",
  ignore: !ROOT,
  async fn() {
    await using sim = await createSimulation({ vfs: 1 });
    const config = simConfig(sim);
    const before = settled(await sim.snapshot());
    // A warm-up: the first run of a new bundle fills Deno's caches, with fsyncs of their own on
    // the main thread, which later runs do not make.
    ok(await sim.runPlugin({ command: "ADD", config }), "warm-up ADD");
    ok(await sim.runPlugin({ command: "DEL", config }), "warm-up DEL");
    const points = await killPoints(sim, "ADD", config);
    ok(await sim.runPlugin({ command: "DEL", config }), "DEL after the listing ADD");
    assert.deepEqual(settled(await sim.snapshot()), before);
    // The listing must have seen every kind of step, or the syscall choice no longer fits.
    for (const syscall of STEP_SYSCALLS) {
      assert.ok(points.some((p) => p.syscall === syscall), `no ${syscall} in one ADD`);
    }
    // The state files are written as docs/how-it-works.md says: the allocation and the first
    // record whole; the record's rewrite as "attached" without the directory's fsync (its
    // previous version serves DEL as well); the lock's owner file, on the tmpfs, without fsync.
    const pci = sim.vfs[0]!.pci;
    const record = `/var/lib/cni/ib-sriov/${sim.containerId}-net1`;
    assert.deepEqual(atomicWrites(await Deno.readTextFile(join(sim.dir, "strace-ADD.log"))), [
      `/run/cni/ib-sriov/${pci}.owner: rename`,
      `/var/lib/cni/ib-sriov/pci/${pci}: fsync, rename, fsync dir`,
      `${record}: fsync, rename, fsync dir`,
      `${record}: fsync, rename`,
    ]);
    for (const point of sample(points)) {
      await runKilled(sim, "ADD", config, point);
      const del = await sim.runPlugin({ command: "DEL", config });
      assert.equal(del.code, 0, `DEL after a kill at ${point.what}: ${del.stdout}${del.stderr}`);
      assert.deepEqual(
        settled(await sim.snapshot()),
        before,
        `node not as before after a kill at ${point.what} and DEL`,
      );
    }
    // Nothing but lock files is left in the state dirs, and every lock is free: a last ADD and
    // DEL complete.
    const state = await filesUnder(join(sim.dir, "state"));
    assert.deepEqual(state.filter((n) => !n.endsWith(".lock")), []);
    ok(await sim.runPlugin({ command: "ADD", config }), "ADD after the kills");
    ok(await sim.runPlugin({ command: "DEL", config }), "DEL after the kills");
    assert.deepEqual(settled(await sim.snapshot()), before);
  },
});

Deno.test({
  name: "plugin killed at each step of DEL: a second DEL completes and leaves the node as before",
  ignore: !ROOT,
  async fn() {
    await using sim = await createSimulation({ vfs: 1 });
    const config = simConfig(sim);
    const before = settled(await sim.snapshot());
    ok(await sim.runPlugin({ command: "ADD", config }), "ADD");
    const points = await killPoints(sim, "DEL", config);
    assert.deepEqual(settled(await sim.snapshot()), before);
    // DEL releases the lease first, then restores the netdev, then forgets the attachment.
    for (const syscall of ["pipe2", "sendmsg", "unlinkat"]) {
      assert.ok(points.some((p) => p.syscall === syscall), `no ${syscall} in one DEL`);
    }
    for (const point of sample(points)) {
      ok(await sim.runPlugin({ command: "ADD", config }), `ADD before a kill at ${point.what}`);
      await runKilled(sim, "DEL", config, point);
      const again = await sim.runPlugin({ command: "DEL", config });
      assert.equal(again.code, 0, `second DEL after ${point.what}: ${again.stdout}${again.stderr}`);
      assert.deepEqual(
        settled(await sim.snapshot()),
        before,
        `node not as before after a kill at ${point.what} and a second DEL`,
      );
    }
  },
});
