/**
 * The hostile-input corpus (tests/hostile_corpus.ts) through `dispatch()` and the real handlers,
 * over the in-memory node and a real state directory. For every case and every command:
 *
 * - exit status 0 or 1; on 1, stdout is exactly one CNI error object with a known numeric code
 *   (never 999), and the code the oracle expects when the input must be refused;
 * - no stack trace in stdout, stderr or the log;
 * - input refused by validation reaches none of the dependencies that touch files or start
 *   processes (the state store, the device-info files, the log file, the IPAM exec: the only
 *   code that does, as tests/unit/boundaries_test.ts holds it), each call recorded;
 * - the node (links, VFs, RDMA devices), the IPAM leases, the state files and their contents, and
 *   the temp dir around the state directory are as before; an accepted ADD is undone by a DEL of
 *   the same input.
 */
import assert from "node:assert/strict";
import { dispatch } from "../../lib/cni/dispatch.ts";
import { createHandlers } from "../../lib/plugin/handlers.ts";
import {
  buildCorpus,
  CATEGORIES,
  type Category,
  type Command,
  COMMANDS,
  countByCategory,
  type HostileCase,
  KNOWN_CODES,
} from "../hostile_corpus.ts";
import type { Deps } from "../../lib/plugin/deps.ts";
import { netConf, POD, POD_B, type World, world } from "./world.ts";

const SEED = 0x1b5e1f;
const BASE_ENV: Record<string, string> = {
  CNI_CONTAINERID: "ctr-a",
  CNI_NETNS: POD,
  CNI_IFNAME: "net1",
  CNI_PATH: "/opt/cni/bin",
};
const BASE_CONFIG = netConf(1, { cniVersion: "1.1.0" });
const BASE_STDIN = new TextEncoder().encode(JSON.stringify(BASE_CONFIG));
const CORPUS = buildCorpus({ config: BASE_CONFIG, env: BASE_ENV }, {
  seed: SEED,
  random: 40,
  huge: true,
});

// ---- The calls that could touch a file or start a process, recorded ----

interface Op {
  fn: string;
  args: string[];
}

/**
 * `w.deps` with each call of its state store, device-info files, log file and IPAM exec recorded
 * in `ops`. The plugin reaches files and processes through these alone (its files through libc
 * beneath a confined directory handle, so there is no Deno file call to watch).
 */
function recorded(w: World, ops: Op[]): Deps {
  const spy = <T extends object>(target: T, name: string): T =>
    new Proxy(target, {
      get(t, key) {
        const value = Reflect.get(t, key, t);
        if (typeof value !== "function" || typeof key !== "string") return value;
        return (...args: unknown[]) => {
          ops.push({ fn: `${name}.${key}`, args: args.map((a) => JSON.stringify(a) ?? "") });
          return Reflect.apply(value, t, args);
        };
      },
    });
  const d = w.deps;
  return {
    ...d,
    store: spy(d.store, "store"),
    deviceInfo: spy(d.deviceInfo, "deviceInfo"),
    ipam: spy(d.ipam, "ipam"),
    openLog: (path) => {
      ops.push({ fn: "openLog", args: [path] });
      return d.openLog(path);
    },
  };
}

// ---- One node for the whole file, with a live attachment of another network ----

/** World state that a refused (or a non-ADD) invocation must leave as it was. */
interface Snapshot {
  node: unknown;
  leases: [string, string][];
  files: Record<string, string>;
  around: string[];
}

function listTree(dir: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = `${d}/${e.name}`;
      if (p === skip) continue;
      out.push(p);
      if (e.isDirectory) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

interface Node {
  w: World;
  /** The temp dir that holds the state directory: nothing may appear in it but that. */
  around: string;
  snapshot(): Snapshot;
}

/**
 * A node with a live attachment (network `other-net`, container `ctr-live`, VF 0 in pod B), so
 * DEL, CHECK and GC have a record they must not touch. `TMPDIR` points at a dir of our own while
 * the world is made, so the state directory sits in a parent we can watch.
 */
async function node(): Promise<Node> {
  const around = await Deno.makeTempDir({ prefix: "ib-sriov-hostile-" });
  const saved = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", around);
  let w: World;
  try {
    w = await world();
  } finally {
    if (saved === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", saved);
  }
  const live = await invoke(w, {
    ...BASE_ENV,
    CNI_COMMAND: "ADD",
    CNI_CONTAINERID: "ctr-live",
    CNI_IFNAME: "net9",
    CNI_NETNS: POD_B,
  }, new TextEncoder().encode(JSON.stringify(netConf(0, { name: "other-net" }))));
  assert.equal(live.status, 0, `the live attachment: ${live.stdout}`);
  return {
    w,
    around,
    snapshot: () => ({
      node: w.kernel.view(),
      leases: [...w.ipam.leases].sort(),
      files: Object.fromEntries(
        w.stateFiles().map((f) => [f, Deno.readTextFileSync(`${w.stateDir}/${f}`)]),
      ),
      around: listTree(around, w.stateDir),
    }),
  };
}

async function disposeNode(n: Node): Promise<void> {
  await n.w[Symbol.asyncDispose]();
  await Deno.remove(n.around, { recursive: true });
}

// ---- Running and judging one invocation ----

interface Run {
  status: number;
  stdout: string;
  stderr: string;
  ops: Op[];
}

async function invoke(
  w: World,
  env: Record<string, string | null>,
  stdin: Uint8Array,
): Promise<Run> {
  const run: Run = { status: -1, stdout: "", stderr: "", ops: [] };
  run.status = await dispatch(
    {
      getenv: (name) => env[name] ?? undefined,
      readStdin: () => Promise.resolve(stdin),
      stdout: (t) => void (run.stdout += t),
      stderr: (t) => void (run.stderr += t),
    },
    createHandlers(() => recorded(w, run.ops)),
    "ib-sriov CNI plugin v0.0.0-test",
  );
  return run;
}

const STACK = /^\s+at |Uncaught|\n\s+at .*:\d+:\d+/m;

/** What is wrong with an error object on stdout. */
function errorObjectProblems(stdout: string): { code: number | null; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    return { code: null, problems: [`stdout is not one JSON value: ${stdout.slice(0, 200)}`] };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { code: null, problems: [`stdout is not an object: ${stdout.slice(0, 200)}`] };
  }
  const o = json as Record<string, unknown>;
  const problems: string[] = [];
  if (!Number.isInteger(o.code) || !KNOWN_CODES.has(o.code as number)) {
    problems.push(`code ${JSON.stringify(o.code)} is not a known CNI code`);
  }
  if (typeof o.msg !== "string" || o.msg === "") problems.push("msg is not a non-empty string");
  if (o.details !== undefined && typeof o.details !== "string") {
    problems.push("details not a string");
  }
  if (o.cniVersion !== undefined && typeof o.cniVersion !== "string") {
    problems.push("cniVersion not a string");
  }
  const extra = Object.keys(o).filter((k) => !["cniVersion", "code", "msg", "details"].includes(k));
  if (extra.length > 0) problems.push(`unexpected keys ${extra.join(",")}`);
  return { code: typeof o.code === "number" ? o.code : null, problems };
}

/**
 * Runs one case for one command and returns what is wrong (empty when all is well). An accepted
 * ADD is followed by a DEL of the same input, which must succeed and restore the node.
 */
async function judge(n: Node, c: HostileCase, cmd: Command, before: Snapshot): Promise<string[]> {
  const env: Record<string, string | null> = { ...BASE_ENV, CNI_COMMAND: cmd, ...c.env };
  const stdin = c.stdin ?? BASE_STDIN;
  const logsBefore = n.w.logs.length;
  const run = await invoke(n.w, env, stdin);
  const problems: string[] = [];
  const refused = c.refuse.commands.includes(cmd);
  const logs = n.w.logs.slice(logsBefore).join("");
  for (const [where, text] of [["stdout", run.stdout], ["stderr", run.stderr], ["log", logs]]) {
    if (STACK.test(text!)) problems.push(`stack trace in ${where}: ${text!.slice(0, 300)}`);
  }
  if (run.status === 1) {
    const { code, problems: shape } = errorObjectProblems(run.stdout);
    problems.push(...shape);
    if (refused && code !== null && !c.refuse.codes.includes(code)) {
      problems.push(`code ${code}, expected one of ${c.refuse.codes.join(",")}: ${run.stdout}`);
    }
  } else if (run.status === 0) {
    if (refused) problems.push(`accepted, expected a refusal: ${run.stdout.slice(0, 300)}`);
    if (env.CNI_COMMAND === "") {
      if (run.stdout !== "") problems.push("the about line went to stdout");
    } else if (cmd === "VERSION") {
      const v = JSON.parse(run.stdout) as { supportedVersions?: unknown };
      if (!Array.isArray(v.supportedVersions)) problems.push(`not a version result: ${run.stdout}`);
    } else if (cmd === "ADD") {
      // Any version's result: `interfaces` from 0.3.0, `ip4`/`ip6` before.
      const r = JSON.parse(run.stdout) as { cniVersion?: unknown };
      if (typeof r.cniVersion !== "string") problems.push(`not an ADD result: ${run.stdout}`);
    } else if (run.stdout !== "") {
      problems.push(`${cmd} printed ${run.stdout.slice(0, 200)}`);
    }
  } else {
    problems.push(`exit status ${run.status}`);
  }
  if (refused && c.early && run.ops.length > 0) {
    problems.push(`refused input reached a file or process dependency: ${callsOf(run.ops)}`);
  }
  if (run.status === 0 && cmd === "ADD" && env.CNI_COMMAND === "ADD") {
    const del = await invoke(n.w, { ...env, CNI_COMMAND: "DEL" }, stdin);
    if (del.status !== 0) problems.push(`DEL after the accepted ADD failed: ${del.stdout}`);
  }
  try {
    assert.deepEqual(n.snapshot(), before);
  } catch (err) {
    problems.push(`the node or the state changed: ${(err as Error).message.slice(0, 1500)}`);
  }
  return problems.map((p) => `${c.id} ${cmd} [${c.what}]: ${p}`);
}

function callsOf(ops: readonly Op[]): string {
  return ops.slice(0, 5).map((o) => `${o.fn}(${o.args.join(", ")})`).join("; ");
}

/** Runs every case of `category` for every command it applies to; returns the failures. */
async function runCategory(category: Category): Promise<{ failures: string[]; runs: number }> {
  let n = await node();
  let before = n.snapshot();
  const failures: string[] = [];
  let runs = 0;
  try {
    for (const c of CORPUS.filter((c) => c.category === category)) {
      for (const cmd of c.only ?? COMMANDS) {
        runs++;
        const found = await judge(n, c, cmd, before);
        if (found.length > 0) {
          failures.push(...found);
          // Start the next case on a clean node.
          await disposeNode(n);
          n = await node();
          before = n.snapshot();
        }
      }
    }
  } finally {
    await disposeNode(n);
  }
  return { failures, runs };
}

Deno.test("buildCorpus() is reproducible and covers every category", () => {
  const again = buildCorpus({ config: BASE_CONFIG, env: BASE_ENV }, {
    seed: SEED,
    random: 40,
    huge: true,
  });
  assert.deepEqual(again.map((c) => c.what), CORPUS.map((c) => c.what));
  const counts = countByCategory(CORPUS);
  for (const category of CATEGORIES) assert.ok(counts[category] > 0, category);
  assert.ok(CORPUS.length > 2000, `${CORPUS.length} cases`);
});

for (const category of CATEGORIES) {
  Deno.test(`dispatch() answers hostile input (${category}) with a CNI error and changes nothing`, async () => {
    const { failures, runs } = await runCategory(category);
    assert.ok(runs > 0);
    assert.deepEqual(failures.slice(0, 25), [], `${failures.length} of ${runs} runs failed`);
  });
}
