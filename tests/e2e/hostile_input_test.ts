/**
 * A sample of the hostile-input corpus (tests/hostile_corpus.ts) through the plugin process itself:
 * the bundle (`make bundle` first), as root, as a runtime would run it. Root only.
 *
 * Every invocation runs in a private mount and network namespace of its own:
 *
 * - its `TMPDIR`, `/var/lib/cni` and `/var/run/cni` are fresh tmpfs mounts, so after the plugin
 *   exits every file in them is one the plugin made; only the state directories
 *   (`/var/lib/cni/ib-sriov`, `/var/run/cni/ib-sriov`) may hold any, and only lock files;
 * - the plugin's host netns is a fresh one with a veth pair and a bridge in it, and `ip -o link`
 *   of it is the same after the plugin as before;
 * - `CNI_NETNS` of the base invocation is a real pod netns, whose links must not change either.
 *
 * The node has no InfiniBand device, so no ADD can succeed: hostile input in the fields the plugin
 * only passes on reaches the device lookup, the state directory and the IPAM plugin (a script in
 * `CNI_PATH` that prints nothing). A NUL byte or a value over 128 KiB cannot be put into a real
 * environment (execve refuses it): those cases run in the plugin tier only.
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import {
  buildCorpus,
  CATEGORIES,
  type Command,
  COMMANDS,
  type HostileCase,
  KNOWN_CODES,
  prng,
} from "../hostile_corpus.ts";

const SEED = 0x1b5e1f;
/** Cases per category; with six commands each, about 900 plugin runs in all. */
const PER_CATEGORY = 12;
const PARALLEL = 8;
/** Linux's MAX_ARG_STRLEN: the longest `NAME=value` execve accepts. */
const MAX_ENV_STRING = 128 * 1024;
const BUNDLE = fileURLToPath(new URL("../../build/ib-sriov.js", import.meta.url));
const ROOT = Deno.uid() === 0;

interface Fixture {
  dir: string;
  podNetns: string;
  podPath: string;
  cniPath: string;
}

async function sh(script: string): Promise<string> {
  const out = await new Deno.Command("sh", {
    args: ["-c", script],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`sh -c ${JSON.stringify(script)}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

async function setUp(): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "ib-sriov-hostile-" });
  const suffix = dir.slice(-6).replace(/[^a-z0-9]/gi, "x");
  const podNetns = `ibhostile-${suffix}`;
  await sh(`ip netns add ${podNetns} && ip -n ${podNetns} link set lo up`);
  await Deno.mkdir(`${dir}/bin`);
  await Deno.mkdir(`${dir}/out`);
  await Deno.mkdir(`${dir}/tmp`);
  // An IPAM plugin that reads its config and prints nothing: enough for DEL, CHECK, STATUS, GC.
  await Deno.writeTextFile(`${dir}/bin/hostile-ipam`, "#!/bin/sh\ncat >/dev/null\nexit 0\n", {
    mode: 0o755,
  });
  // The mount points the tmpfs mounts go on must exist on the host.
  await Deno.mkdir("/var/lib/cni", { recursive: true, mode: 0o700 });
  await Deno.mkdir("/var/run/cni", { recursive: true, mode: 0o700 });
  return { dir, podNetns, podPath: `/var/run/netns/${podNetns}`, cniPath: `${dir}/bin` };
}

async function tearDown(f: Fixture): Promise<void> {
  await sh(`ip netns delete ${f.podNetns}`);
  await Deno.remove(f.dir, { recursive: true });
}

/** The wrapper: fresh tmpfs dirs and netns, links listed before and after, files after. */
const WRAPPER = [
  "set -e",
  'report="$1"; shift',
  // Not /tmp itself: the repository (the bundle, the pinned deno) may live under it, as in a CI
  // clone. The plugin's write permission covers only the state directories anyway.
  'mount -t tmpfs hostile "$TMPDIR"',
  "mount -t tmpfs hostile /var/lib/cni",
  "mount -t tmpfs hostile /var/run/cni",
  "mkdir -m 700 /var/lib/cni/ib-sriov /var/run/cni/ib-sriov",
  "ip link set lo up </dev/null",
  "ip link add hostile0 type veth peer name hostile1 </dev/null",
  "ip link add hostilebr type bridge </dev/null",
  "ip link set hostile0 up </dev/null",
  'ip -o link > "$report.before"',
  "set +e",
  '"$@"',
  "rc=$?",
  'ip -o link > "$report.after"',
  'find "$TMPDIR" /var/lib/cni /var/run/cni -mindepth 1 -printf "%y %p\\n" > "$report.files"',
  "exit $rc",
].join("\n");

interface Run {
  status: number;
  stdout: string;
  stderr: string;
  linksBefore: string;
  linksAfter: string;
  files: string[];
}

const BASE_CONFIG = {
  cniVersion: "1.1.0",
  name: "ib-net",
  type: "ib-sriov",
  deviceID: "0000:3b:00.1",
  ipam: { type: "hostile-ipam" },
};

async function runPlugin(
  f: Fixture,
  n: number,
  env: Record<string, string | null>,
  stdin: Uint8Array,
): Promise<Run> {
  const report = `${f.dir}/out/${n}`;
  const clean: Record<string, string> = {
    PATH: `${dirname(Deno.execPath())}:/usr/sbin:/usr/bin:/sbin:/bin`,
    NO_COLOR: "1",
    TMPDIR: `${f.dir}/tmp`,
  };
  for (const name of ["HOME", "DENO_DIR"]) {
    const v = Deno.env.get(name);
    if (v !== undefined) clean[name] = v;
  }
  for (const [k, v] of Object.entries(env)) if (v !== null) clean[k] = v;
  const child = new Deno.Command("unshare", {
    args: [
      "--mount",
      "--net",
      "--propagation",
      "private",
      "sh",
      "-c",
      WRAPPER,
      "hostile",
      report,
      BUNDLE,
    ],
    clearEnv: true,
    env: clean,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  // The plugin may stop reading early (it refuses stdin over 4 MiB): a broken pipe is fine.
  const fed = writer.write(stdin).then(() => writer.close()).catch(() => {});
  const out = await child.output();
  await fed;
  const read = (p: string) => Deno.readTextFile(p).catch(() => "");
  const run: Run = {
    status: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    linksBefore: await read(`${report}.before`),
    linksAfter: await read(`${report}.after`),
    files: (await read(`${report}.files`)).split("\n").filter((l) => l !== ""),
  };
  return run;
}

const STACK = /^\s+at |Uncaught|^error: /m;

/** What is wrong with one run (empty when all is well). */
function judge(
  c: HostileCase,
  cmd: Command,
  run: Run,
  env: Record<string, string | null>,
): string[] {
  const problems: string[] = [];
  const refused = c.refuse.commands.includes(cmd);
  if (STACK.test(run.stderr) || STACK.test(run.stdout)) {
    problems.push(`stack trace or runtime error: ${run.stderr.slice(0, 400)}`);
  }
  if (run.linksBefore === "" || run.linksAfter !== run.linksBefore) {
    problems.push(`host links changed:\n${run.linksBefore}---\n${run.linksAfter}`);
  }
  for (const line of run.files) {
    const [type, path] = [line.slice(0, 1), line.slice(2)];
    const inState = /^\/var\/(lib|run)\/cni\/ib-sriov(\/|$)/.test(path);
    const allowed = inState && (type === "d" || /\.lock$/.test(path));
    if (!allowed) problems.push(`left ${type} ${JSON.stringify(path)}`);
    if (refused && c.early && path.endsWith(".lock")) problems.push(`refused input took a lock`);
  }
  if (run.status === 1) {
    let o: Record<string, unknown> | null = null;
    try {
      const json = JSON.parse(run.stdout);
      if (typeof json === "object" && json !== null && !Array.isArray(json)) o = json;
    } catch {
      // reported below
    }
    if (o === null) {
      problems.push(`stdout is not one JSON object: ${run.stdout.slice(0, 300)}`);
    } else {
      if (!Number.isInteger(o.code) || !KNOWN_CODES.has(o.code as number)) {
        problems.push(`code ${JSON.stringify(o.code)} is not a known code`);
      }
      if (typeof o.msg !== "string" || o.msg === "") problems.push("no msg");
      if (refused && !c.refuse.codes.includes(o.code as number)) {
        problems.push(`code ${o.code}, expected one of ${c.refuse.codes.join(",")}: ${o.msg}`);
      }
    }
  } else if (run.status === 0) {
    if (refused) problems.push(`accepted, expected a refusal: ${run.stdout.slice(0, 200)}`);
    if (cmd === "ADD" && env.CNI_COMMAND === "ADD") {
      problems.push("ADD succeeded on a node without a device");
    }
    if (cmd === "VERSION" && !/"supportedVersions"/.test(run.stdout)) {
      problems.push(`not a version result: ${run.stdout}`);
    }
    if (cmd !== "VERSION" && cmd !== "ADD" && run.stdout !== "") {
      problems.push(`${cmd} printed ${run.stdout.slice(0, 200)}`);
    }
  } else {
    problems.push(`exit status ${run.status}: ${run.stderr.slice(0, 300)}`);
  }
  return problems;
}

/** Whether a runtime could pass this environment at all. */
function passable(env: Record<string, string | null>): boolean {
  return Object.entries(env).every(([k, v]) =>
    v === null ||
    (!v.includes("\0") && k.length + 1 + new TextEncoder().encode(v).length < MAX_ENV_STRING)
  );
}

/** A seeded sample: up to PER_CATEGORY passable cases from each category. */
function sample(f: Fixture): HostileCase[] {
  const env = {
    CNI_CONTAINERID: "ctr-a",
    CNI_NETNS: f.podPath,
    CNI_IFNAME: "net1",
    CNI_PATH: f.cniPath,
  };
  const corpus = buildCorpus({ config: BASE_CONFIG, env }, { seed: SEED, random: 10, huge: true });
  const rand = prng(SEED);
  const out: HostileCase[] = [];
  for (const category of CATEGORIES) {
    const pool = corpus.filter((c) => c.category === category && passable(c.env));
    for (let i = 0; i < PER_CATEGORY && pool.length > 0; i++) {
      out.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]!);
    }
  }
  return out;
}

async function hostLinkNames(): Promise<string[]> {
  const text = await sh("ip -o link");
  return text.split("\n").map((l) => l.split(": ")[1]?.split("@")[0] ?? "")
    .filter((n) => n !== "" && !n.startsWith("ibsim")).sort();
}

Deno.test({
  name: "plugin answers a sample of hostile input with a CNI error and changes nothing on the node",
  ignore: !ROOT,
  async fn() {
    await Deno.stat(BUNDLE).catch(() => {
      throw new Error(`${BUNDLE} is missing: run "make bundle" first`);
    });
    const f = await setUp();
    try {
      const cases = sample(f);
      assert.ok(cases.length >= 120, `${cases.length} cases`);
      const baseEnv = {
        CNI_CONTAINERID: "ctr-a",
        CNI_NETNS: f.podPath,
        CNI_IFNAME: "net1",
        CNI_PATH: f.cniPath,
      };
      const baseStdin = new TextEncoder().encode(JSON.stringify(BASE_CONFIG));
      const hostBefore = await hostLinkNames();
      const podBefore = await sh(`ip -n ${f.podNetns} -o link`);
      const jobs = cases.flatMap((c) => (c.only ?? COMMANDS).map((cmd) => ({ c, cmd })));
      const failures: string[] = [];
      let next = 0;
      const worker = async () => {
        while (next < jobs.length) {
          const n = next++;
          const { c, cmd } = jobs[n]!;
          const env = { ...baseEnv, CNI_COMMAND: cmd, ...c.env };
          const run = await runPlugin(f, n, env, c.stdin ?? baseStdin);
          for (const p of judge(c, cmd, run, env)) {
            failures.push(`${c.id} ${cmd} [${c.what}]: ${p}`);
          }
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, worker));
      assert.ok(jobs.length >= 800, `${jobs.length} runs`);
      assert.deepEqual(
        failures.slice(0, 20),
        [],
        `${failures.length} of ${jobs.length} runs failed`,
      );
      assert.equal(await sh(`ip -n ${f.podNetns} -o link`), podBefore);
      assert.deepEqual(await hostLinkNames(), hostBefore);
    } finally {
      await tearDown(f);
    }
  },
});
