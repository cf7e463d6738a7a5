/**
 * The hostile-input corpus of paths, through the plugin process (the bundle, `make bundle`
 * first) on the simulated node: `logFile`, the device-info path and `CNI_NETNS` naming symbolic
 * links at each component, `..`, `/proc/self/…`, `/sys/…`, `/dev/…`, FIFOs (with and without a
 * reader), directories, device nodes, hard links and over-long paths; the log, device-info and
 * state directories themselves replaced by symbolic links. Root only.
 *
 * For each case ADD is refused with the code and message the case names (a `logFile` is never a
 * reason to refuse: ADD and DEL succeed and log to stderr after the one warning the case names),
 * no run outlives its timeout (a FIFO must never hang the plugin), and nothing outside the
 * allowed directories changed: the trees around them (the simulation's log, device-info and
 * state dirs, the victim dir the links point into, the host's mount points) and the node (links,
 * routes, leases) are compared with a snapshot taken before.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { quote } from "../../lib/cni/quote.ts";
import { DEVICE_INFO_DIR, LOG_DIR } from "../../lib/config/limits.ts";
import { DEVICE_INFO_ROOT } from "../../lib/state/device_info.ts";
import { createSimulation, settled, simConfig, type Simulation } from "./sim.ts";

const ROOT = Deno.uid() === 0;
/** Far longer than any refusal takes; a run killed by `timeout` exits 124. */
const TIMEOUT_SECONDS = 20;
/** Files a naive root-run plugin would be made to create or append to. */
const SENSITIVE = ["/etc/ld.so.preload", "/etc/sudoers.d/ib-sriov", "/etc/profile.d/ib-sriov.sh"];
const VICTIM_TEXT = "root's own file\n";

/** One hostile path and what ADD must answer. */
interface PathCase {
  id: string;
  /** The config and environment of the run. */
  input(sim: Simulation, victim: string): { config: Record<string, unknown>; netns?: string };
  /** Host-side preparation inside the simulation's dirs; returns its own cleanup. */
  prepare?(sim: Simulation, victim: string): Promise<(() => Promise<void>) | void>;
  /** Lines run in the plugin's mount namespace before it starts. */
  setup?(victim: string): string[];
  /** The refusal: its code and message. */
  code?: number;
  msg?: string | ((sim: Simulation) => string);
  /** Instead of a refusal: ADD and DEL succeed, after this one warning record on stderr. */
  warning?: Record<string, unknown>;
}

const logFile = (path: string) => (sim: Simulation) => ({
  config: simConfig(sim, { logFile: path }),
});
const deviceInfo = (path: string) => (sim: Simulation) => ({
  config: simConfig(sim, {
    capabilities: { CNIDeviceInfoFile: true },
    runtimeConfig: { CNIDeviceInfoFile: path },
  }),
});
const netns = (path: string) => (sim: Simulation) => ({ config: simConfig(sim), netns: path });

const LINK = "a component of the path is a symbolic link";
const NOT_REGULAR = "it is not a regular file";
/** The warning of a `logFile` the validator does not accept: it is ignored. */
const ignoredLog = (shown: string, why: string) => ({
  msg: `logFile ${shown} is ignored: ${why}`,
  rule: "log-file",
  details: "records go to stderr",
});
/** The warning of a `logFile` that could not be opened: the path rule it broke. */
const unopenedLog = (path: string, rule: string, why: string) => ({
  msg: "cannot open log file; logging to stderr instead",
  logFile: path,
  rule,
  error: `Cannot open log file "${path}": ${why}`,
});
const refusedInfo = (path: string, why: string) =>
  `runtimeConfig.CNIDeviceInfoFile "${path}" is refused: ${why}`;
const invalidInfo = (path: string) =>
  `runtimeConfig.CNIDeviceInfoFile ${
    quote(path)
  } is invalid: must be a file name directly in ${DEVICE_INFO_DIR} (no "..", "." or "/" after it, at most 255 bytes)`;
const badNetns = (path: string, why: string) => `CNI_NETNS ${quote(path)} cannot be used: ${why}`;
const NOT_BENEATH = `must be beneath "${LOG_DIR}/" or relative to it`;
const SEGMENTS = "must not contain NUL, or empty, . or .. segments";
const TOO_LONG = "must be at most 4095 bytes long once beneath it, with names of at most 255";

async function mkfifo(path: string): Promise<void> {
  const out = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(out.code, 0, `mkfifo ${path}`);
}

const CASES: PathCase[] = [
  // ---- logFile ----
  {
    id: "log-link-to-file",
    input: logFile(`${LOG_DIR}/link.log`),
    prepare: (sim, victim) => Deno.symlink(join(victim, "target"), join(sim.logDir, "link.log")),
    warning: unopenedLog(`${LOG_DIR}/link.log`, "symlink", LINK),
  },
  {
    id: "log-dangling-link",
    input: logFile(`${LOG_DIR}/new.log`),
    prepare: (sim, victim) => Deno.symlink(join(victim, "new.log"), join(sim.logDir, "new.log")),
    warning: unopenedLog(`${LOG_DIR}/new.log`, "symlink", LINK),
  },
  {
    id: "log-link-to-etc-file",
    input: logFile(`${LOG_DIR}/preload`),
    prepare: (sim) => Deno.symlink("/etc/ld.so.preload", join(sim.logDir, "preload")),
    warning: unopenedLog(`${LOG_DIR}/preload`, "symlink", LINK),
  },
  {
    id: "log-link-at-subdir",
    input: logFile(`${LOG_DIR}/sub/x.log`),
    prepare: (sim, victim) => Deno.symlink(join(victim, "dir"), join(sim.logDir, "sub")),
    warning: unopenedLog(`${LOG_DIR}/sub/x.log`, "symlink", LINK),
  },
  {
    id: "log-dir-is-a-link",
    input: logFile(`${LOG_DIR}/x.log`),
    setup: (victim) => [
      `mount -t tmpfs hostile ${LOG_DIR}/..`,
      `ln -s ${victim}/dir ${LOG_DIR}`,
    ],
    warning: unopenedLog(`${LOG_DIR}/x.log`, "symlink", LINK),
  },
  {
    id: "log-dotdot",
    input: logFile(`${LOG_DIR}/../../../etc/ld.so.preload`),
    warning: ignoredLog(quote(`${LOG_DIR}/../../../etc/ld.so.preload`), SEGMENTS),
  },
  {
    id: "log-dotdot-inside",
    input: logFile(`${LOG_DIR}/sub/../x.log`),
    warning: ignoredLog(quote(`${LOG_DIR}/sub/../x.log`), SEGMENTS),
  },
  {
    id: "log-relative-dotdot",
    input: logFile("../../../etc/ld.so.preload"),
    warning: ignoredLog(quote("../../../etc/ld.so.preload"), SEGMENTS),
  },
  {
    id: "log-etc",
    input: logFile("/etc/sudoers.d/ib-sriov"),
    warning: ignoredLog(quote("/etc/sudoers.d/ib-sriov"), NOT_BENEATH),
  },
  {
    id: "log-proc-self-fd",
    input: logFile("/proc/self/fd/1"),
    warning: ignoredLog(quote("/proc/self/fd/1"), NOT_BENEATH),
  },
  {
    id: "log-proc-self-root",
    input: logFile("/proc/self/root/etc/profile.d/ib-sriov.sh"),
    warning: ignoredLog(quote("/proc/self/root/etc/profile.d/ib-sriov.sh"), NOT_BENEATH),
  },
  {
    id: "log-sys",
    input: logFile("/sys/bus/pci/drivers_probe"),
    warning: ignoredLog(quote("/sys/bus/pci/drivers_probe"), NOT_BENEATH),
  },
  {
    id: "log-dev",
    input: logFile("/dev/sda"),
    warning: ignoredLog(quote("/dev/sda"), NOT_BENEATH),
  },
  {
    id: "log-fifo",
    input: logFile(`${LOG_DIR}/fifo`),
    prepare: (sim) => mkfifo(join(sim.logDir, "fifo")),
    warning: unopenedLog(`${LOG_DIR}/fifo`, "not-regular", NOT_REGULAR),
  },
  {
    id: "log-fifo-with-reader",
    input: logFile(`${LOG_DIR}/fifo`),
    async prepare(sim) {
      const path = join(sim.logDir, "fifo");
      await mkfifo(path);
      // O_RDWR opens a FIFO at once; while it is open the FIFO has a reader.
      const reader = await Deno.open(path, { read: true, write: true });
      return () => Promise.resolve(reader.close());
    },
    warning: unopenedLog(`${LOG_DIR}/fifo`, "not-regular", NOT_REGULAR),
  },
  {
    id: "log-directory",
    input: logFile(`${LOG_DIR}/dir`),
    prepare: (sim) => Deno.mkdir(join(sim.logDir, "dir")),
    warning: unopenedLog(`${LOG_DIR}/dir`, "not-regular", NOT_REGULAR),
  },
  {
    id: "log-device-node",
    input: logFile(`${LOG_DIR}/null`),
    async prepare(sim) {
      const out = await new Deno.Command("mknod", {
        args: [join(sim.logDir, "null"), "c", "1", "3"],
      }).output();
      assert.equal(out.code, 0, "mknod");
    },
    warning: unopenedLog(`${LOG_DIR}/null`, "not-regular", NOT_REGULAR),
  },
  {
    id: "log-hard-link",
    input: logFile(`${LOG_DIR}/hard.log`),
    prepare: (sim, victim) => Deno.link(join(victim, "target"), join(sim.logDir, "hard.log")),
    warning: unopenedLog(`${LOG_DIR}/hard.log`, "linked", "it has 2 hard links; it must have one"),
  },
  {
    id: "log-long-name",
    input: logFile(`${LOG_DIR}/${"n".repeat(256)}`),
    warning: ignoredLog(`"${LOG_DIR}/${"n".repeat(62)}"… (274 chars)`, TOO_LONG),
  },
  {
    id: "log-long-path",
    input: logFile(`${LOG_DIR}/${"d/".repeat(2100)}x`),
    warning: ignoredLog(`"${LOG_DIR}/${"d/".repeat(31)}"… (4219 chars)`, TOO_LONG),
  },
  // ---- the device-info path (runtimeConfig.CNIDeviceInfoFile) ----
  {
    id: "devinfo-link-to-file",
    input: deviceInfo(`${DEVICE_INFO_DIR}info`),
    prepare: (sim, victim) => Deno.symlink(join(victim, "target"), join(sim.deviceInfoDir, "info")),
    code: 7,
    msg: refusedInfo(`${DEVICE_INFO_DIR}info`, LINK),
  },
  {
    id: "devinfo-dangling-link",
    input: deviceInfo(`${DEVICE_INFO_DIR}info`),
    prepare: (sim, victim) => Deno.symlink(join(victim, "new"), join(sim.deviceInfoDir, "info")),
    code: 7,
    msg: refusedInfo(`${DEVICE_INFO_DIR}info`, LINK),
  },
  {
    id: "devinfo-dir-is-a-link",
    input: deviceInfo(`${DEVICE_INFO_DIR}info`),
    setup: (victim) => [
      `mount -t tmpfs hostile ${DEVICE_INFO_ROOT}/..`,
      `ln -s ${victim}/dir ${DEVICE_INFO_ROOT}`,
    ],
    code: 7,
    msg: refusedInfo(`${DEVICE_INFO_DIR}info`, LINK),
  },
  {
    id: "devinfo-fifo",
    input: deviceInfo(`${DEVICE_INFO_DIR}fifo`),
    prepare: (sim) => mkfifo(join(sim.deviceInfoDir, "fifo")),
    code: 7,
    msg: refusedInfo(`${DEVICE_INFO_DIR}fifo`, NOT_REGULAR),
  },
  {
    id: "devinfo-directory",
    input: deviceInfo(`${DEVICE_INFO_DIR}dir`),
    prepare: (sim) => Deno.mkdir(join(sim.deviceInfoDir, "dir")),
    code: 7,
    msg: refusedInfo(`${DEVICE_INFO_DIR}dir`, NOT_REGULAR),
  },
  ...[
    `${DEVICE_INFO_DIR}../../../../etc/ld.so.preload`,
    "/proc/self/root/etc/ld.so.preload",
    "/sys/bus/pci/drivers_probe",
    "/dev/sda",
    `${DEVICE_INFO_DIR}${"n".repeat(256)}`,
  ].map((path, n): PathCase => ({
    id: `devinfo-outside-${n}`,
    input: deviceInfo(path),
    code: 7,
    msg: invalidInfo(path),
  })),
  // ---- CNI_NETNS ----
  {
    id: "netns-link-to-file",
    input: (sim, victim) => netns(join(victim, "link"))(sim),
    prepare: (_sim, victim) => Deno.symlink(join(victim, "target"), join(victim, "link")),
    code: 8,
    msg: (sim) => badNetns(join(sim.dir, "victim", "link"), "not a network namespace"),
  },
  {
    id: "netns-fifo",
    input: (sim, victim) => netns(join(victim, "fifo"))(sim),
    prepare: (_sim, victim) => mkfifo(join(victim, "fifo")),
    code: 8,
    msg: (sim) => badNetns(join(sim.dir, "victim", "fifo"), "not a network namespace"),
  },
  {
    id: "netns-directory",
    input: netns("/sys/class/net"),
    code: 8,
    msg: badNetns("/sys/class/net", "not a network namespace"),
  },
  {
    id: "netns-dev",
    input: netns("/dev/null"),
    code: 8,
    msg: badNetns("/dev/null", "not a network namespace"),
  },
  {
    id: "netns-proc-self",
    input: netns("/proc/self/ns/net"),
    code: 8,
    msg: 'CNI_NETNS "/proc/self/ns/net" is the host\'s own network namespace',
  },
  {
    id: "netns-dotdot",
    input: netns("/var/run/netns/../../../etc/passwd"),
    code: 8,
    msg: badNetns("/var/run/netns/../../../etc/passwd", "not a network namespace"),
  },
  {
    id: "netns-long",
    input: netns(`/${"n/".repeat(2100)}x`),
    code: 8,
    msg: badNetns(`/${"n/".repeat(2100)}x`, "File name too long"),
  },
  // ---- the state directories ----
  {
    id: "state-cache-is-a-link",
    input: (sim) => ({ config: simConfig(sim) }),
    setup: (victim) => [
      "mount -t tmpfs hostile /var/lib/cni",
      `ln -s ${victim}/dir /var/lib/cni/ib-sriov`,
    ],
    code: 103,
    msg: `Cannot open directory "/var/lib/cni/ib-sriov": ${LINK}`,
  },
  {
    id: "state-run-is-a-link",
    input: (sim) => ({ config: simConfig(sim) }),
    setup: (victim) => [
      "mount -t tmpfs hostile /run/cni",
      `ln -s ${victim}/dir /run/cni/ib-sriov`,
    ],
    code: 103,
    msg: `Cannot open directory "/var/run/cni/ib-sriov": ${LINK}`,
  },
];

/** A comparable view of a tree: type, mode, size, link target and content of each entry. */
async function tree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      const st = await Deno.lstat(path);
      const mode = (st.mode ?? 0).toString(8);
      if (st.isSymlink) out[path] = `link ${mode} -> ${await Deno.readLink(path)}`;
      else if (st.isDirectory) {
        out[path] = `dir ${mode}`;
        await walk(path);
      } else if (st.isFile) {
        out[path] = `file ${mode} ${st.nlink} ${await Deno.readTextFile(path)}`;
      } else out[path] = `other ${mode} ${st.mtime?.getTime()}`;
    }
  };
  await walk(root);
  return out;
}

/** Everything that must not change, around the allowed directories and beyond. */
async function world(sim: Simulation, victim: string): Promise<Record<string, unknown>> {
  const trees: Record<string, string> = {};
  for (const root of [sim.logDir, sim.deviceInfoDir, sim.stateCacheDir, victim]) {
    Object.assign(trees, await tree(root));
  }
  for (const root of [LOG_DIR, DEVICE_INFO_ROOT, "/var/lib/cni/ib-sriov"]) {
    Object.assign(trees, await tree(root));
  }
  const sensitive = await Promise.all(
    SENSITIVE.map((p) => Deno.lstat(p).then(() => `${p} exists`, () => `${p} absent`)),
  );
  return { trees, sensitive, node: settled(await sim.snapshot()) };
}

/** Parses stderr's records, without the time and the fields every record of the run carries. */
function stderrRecords(stderr: string): Record<string, unknown>[] {
  return stderr.trimEnd().split("\n").filter((line) => line !== "").map((line) => {
    const {
      time: _t,
      command: _c,
      containerId: _id,
      netns: _n,
      ifname: _i,
      deviceID: _d,
      ...rest
    } = JSON.parse(line) as Record<string, unknown>;
    return rest;
  });
}

Deno.test({
  name:
    "plugin ADD refuses each hostile path with its code and message (a logFile: ADD and DEL log to stderr after one warning), hangs on none, and changes nothing outside the allowed directories",
  ignore: !ROOT,
  sanitizeResources: false,
  async fn() {
    await using sim = await createSimulation();
    const victim = join(sim.dir, "victim");
    const failures: string[] = [];
    // An ADD and DEL first: the directories the state store creates once and keeps are there
    // before any case's snapshot.
    for (const command of ["ADD", "DEL"]) {
      const run = await sim.runPlugin({ command, config: simConfig(sim) });
      assert.equal(run.code, 0, `${command}: ${run.stdout}${run.stderr}`);
    }
    for (const c of CASES) {
      await Deno.mkdir(join(victim, "dir"), { recursive: true, mode: 0o700 });
      await Deno.writeTextFile(join(victim, "target"), VICTIM_TEXT);
      const cleanup = await c.prepare?.(sim, victim);
      const before = await world(sim, victim);
      const input = c.input(sim, victim);
      const options = {
        config: input.config,
        ...(input.netns === undefined ? {} : { netns: input.netns }),
        ...(c.setup === undefined ? {} : { setup: c.setup(victim) }),
        timeoutSeconds: TIMEOUT_SECONDS,
      };
      const started = Date.now();
      const run = await sim.runPlugin({ command: "ADD", ...options });
      const took = Date.now() - started;
      const answer = run.json as { code?: number; msg?: string } | null;
      if (run.code === 124) failures.push(`${c.id}: hung (killed after ${took} ms)`);
      else if (c.warning !== undefined) {
        // Logging never fails a command: the one warning, then the records of the ADD and DEL.
        const del = await sim.runPlugin({ command: "DEL", ...options });
        const added = stderrRecords(run.stderr);
        const deleted = stderrRecords(del.stderr);
        const expected = { level: "warning", ...c.warning };
        if (run.code !== 0 || del.code !== 0) {
          failures.push(`${c.id}: ADD exit ${run.code}, DEL exit ${del.code}: ${run.stdout}`);
        } else {
          for (
            const [command, records, last] of [["ADD", added, "attached"], [
              "DEL",
              deleted,
              "detached",
            ]] as const
          ) {
            try {
              assert.deepEqual(records[0], expected);
              assert.equal(records.filter((r) => r.level === "warning").length, 1);
              assert.equal(records.at(-1)?.msg, last);
            } catch (err) {
              failures.push(`${c.id}: ${command} stderr: ${(err as Error).message.slice(0, 800)}`);
            }
          }
        }
      } else {
        const msg = typeof c.msg === "string" ? c.msg : c.msg?.(sim);
        if (run.code !== 1 || answer?.code !== c.code || answer?.msg !== msg) {
          failures.push(
            `${c.id}: exit ${run.code}, expected code ${c.code} ${quote(msg)}, got ` +
              quote(run.stdout.trim()),
          );
        }
      }
      if (cleanup) await cleanup();
      const after = await world(sim, victim);
      try {
        assert.deepEqual(after, before);
      } catch (err) {
        failures.push(`${c.id}: something changed: ${(err as Error).message.slice(0, 1500)}`);
      }
      if (await Deno.readTextFile(join(victim, "target")) !== VICTIM_TEXT) {
        failures.push(`${c.id}: the victim file changed`);
      }
      // The next case starts from empty allowed dirs and a fresh victim.
      for (const dir of [sim.logDir, sim.deviceInfoDir, victim]) {
        for (const e of await Array.fromAsync(Deno.readDir(dir))) {
          await Deno.remove(join(dir, e.name), { recursive: true });
        }
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${CASES.length} cases failed`);
    assert.ok(CASES.length >= 35, `${CASES.length} cases`);
  },
});
