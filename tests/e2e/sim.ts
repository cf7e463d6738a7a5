/**
 * A simulated InfiniBand SR-IOV node, for the end-to-end tests and `make demo`.
 *
 * The machines we build and test on have no InfiniBand hardware, so the simulation provides the
 * two things the plugin looks at, built from parts every Linux kernel has:
 *
 * - a fake PCI tree (ConnectX-6 PFs, by default one, and their VFs: `physfn`, `virtfnN`,
 *   `sriov_*`, `driver`, `net/`, `infiniband/<dev>/node_guid`) that the plugin process sees at
 *   `/sys/bus/pci/devices`, because {@linkcode Simulation.runPlugin} bind-mounts it there inside a
 *   private mount namespace;
 * - real links for the netdevs the tree names: a bridge per PF and one veth pair per VF under test
 *   (the tree names one end; its peer stays in the host), plus a real pod network namespace. The
 *   plugin moves, renames and addresses these with real netlink, and real `host-local` IPAM
 *   allocates. By default every VF is under test; a large tree (up to 1,024 VFs on 8 PFs, for
 *   scale benchmarks) gives real links to only some of them, because a veth pair per VF would
 *   make setup slow and the names would not fit IFNAMSIZ.
 *
 * Everything one simulation creates carries a random 4-hex-digit suffix (`ibsim3fa2vf0`,
 * `ibsim-pod-3fa2`, `$TMPDIR/ibsim-3fa2`), so parallel runs never collide, and the temp dir holds
 * the owner's PID, so {@linkcode sweepLeftovers} removes what crashed runs left and nothing a live
 * run still uses. Needs root.
 *
 * @module
 */
import { DEVICE_INFO_ROOT } from "../../lib/state/device_info.ts";
import { LOG_DIR } from "../../lib/config/limits.ts";
import { basename, dirname, join, relative } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import {
  buildSysfsTree,
  PCI_DEVICES_DIR,
  type SysfsNodeSpec,
  type SysfsTreeSpec,
} from "../fakes/sysfs_tree.ts";
import { connectx6Fixture } from "../fixtures/sysfs/connectx6.ts";
import { DENO_CACHE_DIR } from "../../tools/permissions.ts";

/** Every link, netns and temp dir of a simulation starts with this. */
export const SIM_PREFIX = "ibsim";

/** Where the runtime puts named netns; CNI_NETNS paths look like `/var/run/netns/<name>`. */
const NETNS_DIR = "/var/run/netns";
/** The plugin's cache and lock dirs (the Go plugin's paths, which we keep). */
const PLUGIN_CACHE_DIR = "/var/lib/cni/ib-sriov";
const PLUGIN_RUN_DIR = "/var/run/cni/ib-sriov";
/** Debian's containernetworking-plugins install `host-local` and friends here. */
const DEFAULT_CNI_PATH = "/usr/lib/cni";
/** Exit status of the mount wrapper when a bind mount fails, so it is not taken for the plugin's. */
const SETUP_EXIT = 125;
const SETUP_MARK = "ibsim-setup:";
const MAX_VFS = 99; // keeps `ibsimXXXXvfNNp` within the kernel's 15-character IFNAMSIZ limit
/** The most VFs and PFs the ConnectX-6 fixture describes. */
const MAX_TREE_VFS = 1024;
const MAX_PFS = 8;
const MAX_PODS = 99;

/** Why a simulation step failed. */
export type SimulationErrorCode = "command-failed" | "setup-failed" | "cleanup-failed";

/** A failure of the simulation itself (never of the plugin under test). */
export class SimulationError extends Error {
  override name = "SimulationError";
  /** What kind of failure this is. */
  readonly code: SimulationErrorCode;

  /**
   * @param code the kind of failure
   * @param message a one-line message naming the command or resource
   * @param options `cause`: the underlying error
   */
  constructor(code: SimulationErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.code = code;
  }
}

/** Options of {@linkcode createSimulation}. */
export interface SimulationOptions {
  /**
   * Number of VFs in the tree, spread over the PFs in order (the first PFs take the remainder).
   * 1–99 when every VF is under test (`linkedVfs` not given), else 1–1,024. Default 4.
   */
  vfs?: number;
  /** Number of PFs (1–8), each a bridge in the host. Default 1. */
  pfs?: number;
  /**
   * How many VFs are under test: only these get real veth netdevs and appear in
   * {@linkcode Simulation.vfs}; the others exist only in the tree, with netdev names no link has.
   * They are the last VFs in tree order (the last PF's last VFs), the ones a scan over the
   * `virtfnN` links would reach last. 1–99, at most `vfs`. Default: all of them.
   */
  linkedVfs?: number;
  /**
   * The contents of a VF's `infiniband/<dev>/node_guid` (a newline is added), by PF number (0 for
   * the first PF) and VF index under that PF. Default: distinct non-zero GUIDs
   * (`0200:0000:0000:0001`, …).
   */
  nodeGuid?: (pfIndex: number, vfIndex: number) => string;
  /**
   * Number of pod network namespaces (1–99): the first is {@linkcode Simulation.podNetns}, the
   * others `<podNetns>-1`, `<podNetns>-2`, … (for parallel ADDs, each into a pod of its own, as on
   * a real node). Default 1.
   */
  pods?: number;
}

/** A simulated PF. */
export interface SimPf {
  /** PCI address, e.g. `0000:3b:00.0`. */
  pci: string;
  /** Its netdev: a real bridge in the host. */
  netdev: string;
  /** Its RDMA device under `infiniband/`. */
  rdmaDevice: string;
  /** Contents of `infiniband/<rdmaDevice>/node_guid`. */
  nodeGuid: string;
  /** How many VFs it has in the tree (its `sriov_numvfs`), linked or not. */
  vfCount: number;
}

/** One simulated VF. */
export interface SimVf {
  /** VF index: the N of the PF's `virtfnN`. */
  index: number;
  /** PCI address, e.g. `0000:3b:00.1`. */
  pci: string;
  /** PCI address of its PF (where its `physfn` link points). */
  physfn: string;
  /** Its netdev, named in the tree's `net/`: a real veth end in the host. */
  netdev: string;
  /** The other end of that veth pair; stays in the host, and deleting it deletes both ends. */
  peer: string;
  /** Its RDMA device under `infiniband/`. */
  rdmaDevice: string;
  /** Contents of `infiniband/<rdmaDevice>/node_guid`. */
  nodeGuid: string;
}

/** Options of {@linkcode Simulation.runPlugin}; everything but `command` has a default. */
export interface RunPluginOptions {
  /** `CNI_COMMAND`: ADD, DEL, CHECK, STATUS, GC, VERSION. */
  command: string;
  /** The network config on stdin: a string is sent as is (for malformed input), else as JSON. */
  config?: unknown;
  /** `CNI_CONTAINERID`. Default {@linkcode Simulation.containerId}. */
  containerId?: string;
  /** `CNI_IFNAME`. Default `net1`. */
  ifname?: string;
  /** `CNI_NETNS`. Default the pod netns path; `null` leaves the variable unset. */
  netns?: string | null;
  /** `CNI_ARGS`, when given. */
  cniArgs?: string;
  /** `CNI_PATH`. Default `/usr/lib/cni`, where Debian installs `host-local`. */
  cniPath?: string;
  /** The plugin bundle to execute. Default `build/ib-sriov.js` of this repository. */
  bundle?: string;
  /** The whole command line instead of the bundle, e.g. `[Deno.execPath(), "run", "-A", "cli.ts"]`. */
  pluginArgv?: string[];
  /** More environment variables for the plugin process (they win over the defaults). */
  env?: Record<string, string>;
  /**
   * Variables of the default environment to leave out, e.g. `["HOME", "DENO_DIR"]` to run the
   * plugin as containerd and CRI-O do, without the caller's home.
   */
  unset?: string[];
  /**
   * Shell lines run in the plugin's mount namespace after the bind mounts and before the plugin,
   * e.g. to put a symbolic link where a state directory should be. A failing line fails the run
   * with `setup-failed`.
   */
  setup?: string[];
  /** Kill the plugin after this many seconds (`timeout`, exit status 124): a hang is a failure. */
  timeoutSeconds?: number;
}

/** Exactly what {@linkcode Simulation.runPlugin} hands the plugin process. */
export interface PluginInput {
  /** The command line run inside the mount namespace. */
  argv: string[];
  /** The whole environment of the plugin process. */
  env: Record<string, string>;
  /** The bytes on stdin, as text. */
  stdin: string;
}

/** What one plugin run produced. */
export interface PluginRun {
  /** Exit status. */
  code: number;
  stdout: string;
  stderr: string;
  /** `stdout` parsed as JSON, or `null` when it is not JSON (or empty). */
  json: unknown;
}

/** A link as `ip -d -j addr` shows it, without what the kernel renumbers (ifindex). */
export interface LinkView {
  name: string;
  /** `veth`, `bridge`, …; `null` for links without a kind (`lo`). */
  kind: string | null;
  /** Administratively up (the `UP` flag). */
  up: boolean;
  mtu: number;
  mac: string;
  /** Alternative names, in the kernel's order. */
  altNames: string[];
  /** `address/prefixlen`, sorted. */
  addresses: string[];
}

/**
 * A comparable description of everything the plugin may change: assert
 * `assert.deepEqual(await sim.snapshot(), before)` to prove that DEL or a rollback left the node
 * as it found it.
 */
export interface SimSnapshot {
  /** This simulation's links in the host ({@linkcode Simulation.hostLinks}). */
  hostLinks: LinkView[];
  /** Every link in the pod netns. */
  podLinks: LinkView[];
  /** The pod's main-table routes, IPv4 and IPv6, as `dst [via gw] dev name`, sorted. */
  podRoutes: string[];
  /**
   * Files in the plugin's state dirs, by path relative to the state dir (`cache/…`, `run/…`), with
   * their contents. Lock files stay once created (a lock file is never deleted), so compare a
   * "before" taken after the first run, or filter `run/`.
   */
  stateFiles: Record<string, string>;
  /**
   * `host-local` leases under {@linkcode Simulation.ipamDataDir}: files named by an address, with
   * their contents (container ID, ifname). host-local's bookkeeping files (`lock`,
   * `last_reserved_ip.N`), which it never deletes, are left out.
   */
  ipamLeases: Record<string, string>;
}

/** What of a simulation is still on the host; all lists empty means nothing is left. */
export interface SimResidue {
  links: string[];
  netns: string[];
  dirs: string[];
  /** Lines of `/proc/self/mountinfo` that mention the simulation's dir. */
  mounts: string[];
}

/** What {@linkcode sweepLeftovers} removed. */
export interface SweepReport {
  links: string[];
  netns: string[];
  dirs: string[];
}

interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Runs a command to completion and collects its output.
 *
 * @throws {SimulationError} `command-failed` when the program cannot be started.
 */
async function spawn(
  argv: readonly string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CommandOutput> {
  const [program, ...args] = argv;
  if (program === undefined) throw new TypeError("Cannot run an empty command line");
  try {
    const child = new Deno.Command(program, {
      args,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      ...(options.env === undefined ? {} : { env: options.env, clearEnv: true }),
    }).spawn();
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      // A plugin may exit before reading stdin (e.g. on a bad CNI_COMMAND): a broken pipe here
      // is its business, its exit status and stderr tell the story.
      await writer.write(encoder.encode(options.stdin)).catch(() => {});
      await writer.close().catch(() => {});
    }
    const out = await child.output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } catch (err) {
    throw new SimulationError("command-failed", `Cannot run "${argv.join(" ")}": ${message(err)}`, {
      cause: err,
    });
  }
}

/**
 * Runs `ip` with the arguments and returns its stdout.
 *
 * @throws {SimulationError} `command-failed` on a non-zero exit, with ip's message.
 */
export async function ip(...args: string[]): Promise<string> {
  const out = await spawn(["ip", ...args]);
  if (out.code !== 0) {
    throw new SimulationError(
      "command-failed",
      `Cannot run "ip ${args.join(" ")}": ${out.stderr.trim() || `exit status ${out.code}`}`,
    );
  }
  return out.stdout;
}

/**
 * The log records of a plugin run at level warning (stderr, one JSON object a line).
 *
 * @param run the run
 * @returns their messages
 */
export function warnings(run: PluginRun): string[] {
  return run.stderr.split("\n").filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { level: string; msg: string })
    .filter((r) => r.level === "warning").map((r) => r.msg);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `ip -j …` prints nothing at all for some empty lists (netns list without /run/netns). */
function parseJsonList<T>(text: string): T[] {
  return text.trim() === "" ? [] : JSON.parse(text) as T[];
}

interface IpAddrJson {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  address?: string;
  altnames?: string[];
  /** For a veth whose peer is in the same netns: the peer's name. */
  link?: string;
  linkinfo?: { "info_kind"?: string };
  "addr_info"?: { local: string; prefixlen: number }[];
}

function toLinkView(link: IpAddrJson): LinkView {
  return {
    name: link.ifname,
    kind: link.linkinfo?.info_kind ?? null,
    up: link.flags.includes("UP"),
    mtu: link.mtu,
    mac: link.address ?? "",
    altNames: link.altnames ?? [],
    addresses: (link.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`).sort(),
  };
}

async function linksIn(netns: string | null): Promise<IpAddrJson[]> {
  const nsArgs = netns === null ? [] : ["-n", netns];
  return parseJsonList<IpAddrJson>(await ip(...nsArgs, "-d", "-j", "addr", "show"));
}

async function netnsNames(): Promise<string[]> {
  return parseJsonList<{ name: string }>(await ip("-j", "netns", "list")).map((n) => n.name);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Regular files under `dir`, recursively, by path relative to `dir`; `{}` when `dir` is absent. */
async function readFiles(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  async function walk(path: string): Promise<void> {
    for await (const entry of Deno.readDir(path)) {
      const full = join(path, entry.name);
      if (entry.isDirectory) await walk(full);
      else if (entry.isFile) files[relative(dir, full)] = await Deno.readTextFile(full);
    }
  }
  if (await exists(dir)) await walk(dir);
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)));
}

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(2));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function simDir(suffix: string): string {
  return join(tmpdir(), `${SIM_PREFIX}-${suffix}`);
}

function podNetnsName(suffix: string): string {
  return `${SIM_PREFIX}-pod-${suffix}`;
}

/** Whether the process that wrote `<simdir>/owner.pid` still runs. */
async function ownerAlive(suffix: string): Promise<boolean> {
  let pid: string;
  try {
    pid = (await Deno.readTextFile(join(simDir(suffix), "owner.pid"))).trim();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  return /^\d+$/.test(pid) && await exists(`/proc/${pid}`);
}

/** What {@linkcode simTree} needs: the options, checked and with their defaults. */
interface TreeShape {
  vfs: number;
  pfs: number;
  linkedVfs: number;
  nodeGuid: ((pfIndex: number, vfIndex: number) => string) | undefined;
}

/** A node of the fixture with one `dirs` entry renamed (a netdev under `net/`). */
function renameDir(node: SysfsNodeSpec, from: string, to: string): SysfsNodeSpec {
  return { ...node, dirs: (node.dirs ?? []).map((dir) => dir === from ? to : dir) };
}

/**
 * The ConnectX-6 fixture with this simulation's names: each PF's `net/` names its real bridge
 * (`<prefix>pf<P>`), each VF under test's names its real veth end (`<prefix>vf<N>`, N counting the
 * VFs under test), and the other VFs keep the fixture's names. Each VF's `node_guid` is what
 * `shape.nodeGuid` says, when given. Plus what the plugin process may touch and the unit fixture
 * does not need: the driver's `bind` and `unbind`, so that a driver rebind writes into plain files
 * instead of failing.
 */
function simTree(
  suffix: string,
  shape: TreeShape,
): { spec: SysfsTreeSpec; pfs: SimPf[]; vfs: SimVf[] } {
  const prefix = `${SIM_PREFIX}${suffix}`;
  const fixture = connectx6Fixture({ vfs: shape.vfs, pfs: shape.pfs });
  const devices: Record<string, SysfsNodeSpec> = { ...fixture.spec.devices };
  const pfs: SimPf[] = [];
  const vfs: SimVf[] = [];
  const firstLinked = shape.vfs - shape.linkedVfs;
  let vfNumber = 0;
  for (const [pfIndex, fixturePf] of fixture.pfs.entries()) {
    const pfNode = devices[fixturePf.pci];
    if (pfNode === undefined) {
      throw new SimulationError("setup-failed", `Cannot simulate: no node for PF ${fixturePf.pci}`);
    }
    const { pci, rdmaDevice, nodeGuid } = fixturePf;
    const pf: SimPf = {
      pci,
      netdev: `${prefix}pf${pfIndex}`,
      rdmaDevice,
      nodeGuid,
      vfCount: fixturePf.vfs.length,
    };
    devices[pci] = renameDir(pfNode, `net/${fixturePf.netdev}`, `net/${pf.netdev}`);
    pfs.push(pf);
    for (const fixtureVf of fixturePf.vfs) {
      let node = devices[fixtureVf.pci];
      if (node === undefined) {
        throw new SimulationError(
          "setup-failed",
          `Cannot simulate: no node for VF ${fixtureVf.pci}`,
        );
      }
      const vf = { ...fixtureVf, physfn: pci };
      if (shape.nodeGuid !== undefined) {
        vf.nodeGuid = shape.nodeGuid(pfIndex, fixtureVf.index);
        const guidFile = `infiniband/${fixtureVf.rdmaDevice}/node_guid`;
        node = { ...node, files: { ...node.files, [guidFile]: `${vf.nodeGuid}\n` } };
      }
      if (vfNumber >= firstLinked) {
        vf.netdev = `${prefix}vf${vfNumber - firstLinked}`;
        node = renameDir(node, `net/${fixtureVf.netdev}`, `net/${vf.netdev}`);
        vfs.push({ ...vf, peer: `${vf.netdev}p` });
      }
      devices[fixtureVf.pci] = node;
      vfNumber++;
    }
  }
  const driverDir = "sys/bus/pci/drivers/mlx5_core";
  const spec: SysfsTreeSpec = {
    devices,
    other: {
      ...fixture.spec.other,
      files: {
        ...fixture.spec.other?.files,
        [`${driverDir}/bind`]: "",
        [`${driverDir}/unbind`]: "",
      },
    },
  };
  return { spec, pfs, vfs };
}

/**
 * The root of the tree `<dir>/sys` links to (`buildSysfsTree` makes a temp dir of its own), or
 * `undefined` when there is no link or it leads anywhere but into a `sysfs_tree_*` dir.
 */
async function treeRootOf(dir: string): Promise<string | undefined> {
  let target: string;
  try {
    target = await Deno.readLink(join(dir, "sys"));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const root = dirname(target);
  return basename(root).startsWith("sysfs_tree_") ? root : undefined;
}

/**
 * The command line that runs `argv` in a private mount namespace of its own, with `binds` bind
 * mounted first (each `[source, target]`; the target must exist). A failed mount exits with
 * status 125 and a line on stderr that starts with `ibsim-setup:`, never like the command.
 *
 * @param binds the bind mounts, in order
 * @param argv the command to run there
 * @param setup shell lines run after the mounts, before the command (a failing one exits
 *   with the setup status)
 * @returns the whole command line, `unshare` first
 */
export function mountNamespaceCommand(
  binds: readonly (readonly [string, string])[],
  argv: readonly string[],
  setup: readonly string[] = [],
): string[] {
  // `set -e` is not enough: a failed mount must exit with SETUP_EXIT, never like the command.
  const script = [
    `over() { mount --bind "$1" "$2" || { echo "${SETUP_MARK} cannot bind $1 over $2" >&2; exit ${SETUP_EXIT}; }; }`,
    `while [ "$1" != -- ]; do over "$1" "$2"; shift 2; done`,
    `shift`,
    ...setup.map((line) =>
      `{ ${line}; } || { echo "${SETUP_MARK} ${
        line.replaceAll('"', "'")
      } failed" >&2; exit ${SETUP_EXIT}; }`
    ),
    `exec "$@"`,
  ].join("\n");
  return [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    script,
    "ibsim-mount",
    ...binds.flat(),
    "--",
    ...argv,
  ];
}

/**
 * One simulated node. Create it with {@linkcode createSimulation}; release it with
 * `await using sim = await createSimulation()` or {@linkcode Simulation.cleanup}.
 */
export class Simulation {
  /** The random 4-hex-digit suffix in every name this simulation owns. */
  readonly suffix: string;
  /** Prefix of every link name this simulation owns (`ibsim<suffix>`). */
  readonly linkPrefix: string;
  /** The temp dir: the owner's PID, the state dirs, the IPAM data dir and `sys`, the tree. */
  readonly dir: string;
  /**
   * The fake `/sys` (a link into the tree `buildSysfsTree` made): its `bus/pci/devices` and
   * `bus/pci/drivers` are bind-mounted for the plugin.
   */
  readonly sysDir: string;
  /** Bind-mounted over `/var/lib/cni/ib-sriov` (the plugin's cache) in the plugin process. */
  readonly stateCacheDir: string;
  /** Bind-mounted over `/var/run/cni/ib-sriov` (the plugin's locks) in the plugin process. */
  readonly stateRunDir: string;
  /**
   * Bind-mounted over the bundle's `DENO_DIR` (`/var/cache/ib-sriov`): its V8 code cache stays
   * inside the simulation.
   */
  readonly denoCacheDir: string;
  /**
   * Bind-mounted over `/var/run/k8s.cni.cncf.io/devinfo/cni` (the NPWG device-info files) in
   * the plugin process.
   */
  readonly deviceInfoDir: string;
  /** Bind-mounted over `/var/log/ib-sriov`, the directory every `logFile` lies beneath. */
  readonly logDir: string;
  /** `ipam.dataDir` for `host-local`, so leases stay inside the simulation. */
  readonly ipamDataDir: string;
  /** Name of the pod netns (`ip -n <podNetns>`). */
  readonly podNetns: string;
  /** Path of the pod netns, as a runtime passes it in `CNI_NETNS`. */
  readonly podNetnsPath: string;
  /** Every pod netns by name, {@linkcode Simulation.podNetns} first (see `pods` of the options). */
  readonly pods: readonly string[];
  /** Paths of {@linkcode Simulation.pods}, as a runtime passes them in `CNI_NETNS`. */
  readonly podNetnsPaths: readonly string[];
  /** A container ID unique to this simulation, the default `CNI_CONTAINERID`. */
  readonly containerId: string;
  /** The first PF ({@linkcode Simulation.pfs}`[0]`). */
  readonly pf: SimPf;
  /** Every PF of the tree, each a real bridge in the host. */
  readonly pfs: readonly SimPf[];
  /** The VFs under test: those with real veth netdevs (all of the tree's, by default). */
  readonly vfs: readonly SimVf[];
  /** The one cleanup run: a second caller (a signal handler, say) waits for the same one. */
  #cleanup: Promise<void> | undefined;
  /** Remembered on first use, so {@linkcode Simulation.residue} still knows it after cleanup. */
  #treeRoot: string | undefined;

  /**
   * Use {@linkcode createSimulation}: the constructor only names things, it creates nothing.
   *
   * @param suffix the random suffix of every name
   * @param pfs the PFs, at least one
   * @param vfs the VFs under test
   * @param pods the number of pod netns
   */
  constructor(
    suffix: string,
    pfs: readonly [SimPf, ...SimPf[]],
    vfs: readonly SimVf[],
    pods = 1,
  ) {
    this.suffix = suffix;
    this.linkPrefix = `${SIM_PREFIX}${suffix}`;
    this.dir = simDir(suffix);
    this.sysDir = join(this.dir, "sys");
    this.stateCacheDir = join(this.dir, "state/cache");
    this.stateRunDir = join(this.dir, "state/run");
    this.denoCacheDir = join(this.dir, "deno-cache");
    this.deviceInfoDir = join(this.dir, "devinfo");
    this.logDir = join(this.dir, "log");
    this.ipamDataDir = join(this.dir, "ipam");
    this.podNetns = podNetnsName(suffix);
    this.podNetnsPath = join(NETNS_DIR, this.podNetns);
    this.pods = Array.from(
      { length: pods },
      (_, n) => n === 0 ? this.podNetns : `${this.podNetns}-${n}`,
    );
    this.podNetnsPaths = this.pods.map((name) => join(NETNS_DIR, name));
    this.containerId = `${SIM_PREFIX}-${suffix}-container`;
    this.pf = pfs[0];
    this.pfs = pfs;
    this.vfs = vfs;
  }

  /**
   * The process, environment and stdin {@linkcode Simulation.runPlugin} would use: for printing
   * what is sent (the demo) and for tests.
   *
   * @param options the CNI inputs; see {@linkcode RunPluginOptions}
   * @returns the plugin's command line, whole environment and stdin
   */
  pluginInput(options: RunPluginOptions): PluginInput {
    const bundle = options.bundle ??
      fileURLToPath(new URL("../../build/ib-sriov.js", import.meta.url));
    const cni: Record<string, string> = {
      CNI_COMMAND: options.command,
      CNI_CONTAINERID: options.containerId ?? this.containerId,
    };
    const netns = options.netns === undefined ? this.podNetnsPath : options.netns;
    if (netns !== null) cni.CNI_NETNS = netns;
    cni.CNI_IFNAME = options.ifname ?? "net1";
    if (options.cniArgs !== undefined) cni.CNI_ARGS = options.cniArgs;
    cni.CNI_PATH = options.cniPath ?? DEFAULT_CNI_PATH;
    // The bundle's shebang is `#!/usr/bin/env -S DENO_DIR=… deno run …`: put the deno running us
    // first on PATH.
    const path = [dirname(Deno.execPath()), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin"]
      .concat(["/usr/bin", "/sbin", "/bin"]).join(":");
    // NO_COLOR: Deno's own error messages on stderr stay plain text for tests and the demo.
    const inherited: Record<string, string> = { NO_COLOR: "1" };
    for (const name of ["HOME", "DENO_DIR"]) {
      const value = Deno.env.get(name);
      if (value !== undefined && !options.unset?.includes(name)) inherited[name] = value;
    }
    const config = options.config;
    return {
      argv: options.pluginArgv ?? [bundle],
      env: { PATH: path, ...inherited, ...cni, ...options.env },
      stdin: config === undefined
        ? ""
        : typeof config === "string"
        ? config
        : JSON.stringify(config),
    };
  }

  /**
   * The command line that runs `argv` on this simulated node, as {@linkcode Simulation.runPlugin}
   * runs the plugin: in a private mount namespace where the fake PCI tree is at
   * `/sys/bus/pci/devices` (its driver at `/sys/bus/pci/drivers`) and the plugin's cache and lock
   * dirs are this simulation's. A container runtime run this way runs the plugin on the node too.
   * A failed mount exits with status 125 and a line on stderr that starts with `ibsim-setup:`.
   *
   * @param argv the command to run there
   * @param binds more bind mounts, `[source, target]` (e.g. an install dir over `/opt/cni/bin`)
   * @param setup shell lines run in the namespace before the command
   * @returns the whole command line, `unshare` first
   */
  nodeCommand(
    argv: readonly string[],
    binds: readonly [string, string][] = [],
    setup: readonly string[] = [],
  ): string[] {
    // The state dirs are bind mounts of per-simulation dirs, not tmpfs: a tmpfs would die with
    // this one process, and DEL (a later process) must find the cache and locks ADD left.
    return mountNamespaceCommand(
      [
        [join(this.dir, PCI_DEVICES_DIR), "/sys/bus/pci/devices"],
        [join(this.sysDir, "bus/pci/drivers"), "/sys/bus/pci/drivers"],
        [this.stateCacheDir, PLUGIN_CACHE_DIR],
        [this.stateRunDir, PLUGIN_RUN_DIR],
        [this.deviceInfoDir, DEVICE_INFO_ROOT],
        [this.logDir, LOG_DIR],
        [this.denoCacheDir, DENO_CACHE_DIR],
        ...binds,
      ],
      argv,
      setup,
    );
  }

  /**
   * Runs the plugin as a runtime would, on this simulated node: in a private mount namespace
   * where the fake PCI tree is at `/sys/bus/pci/devices` (and its driver at `/sys/bus/pci/drivers`)
   * and the plugin's cache and lock dirs are this simulation's. Network namespaces are not
   * unshared: the plugin works on the host's links and the pod netns, like the real thing.
   *
   * @param options the CNI inputs; see {@linkcode RunPluginOptions}
   * @returns the exit status, stdout, stderr, and stdout parsed as JSON (or `null`)
   * @throws {SimulationError} `setup-failed` when the mount namespace cannot be set up,
   *   `command-failed` when `unshare` cannot be started
   */
  async runPlugin(options: RunPluginOptions): Promise<PluginRun> {
    const input = this.pluginInput(options);
    if (options.pluginArgv === undefined && !await exists(input.argv[0] ?? "")) {
      throw new SimulationError(
        "setup-failed",
        `Cannot run the plugin bundle "${
          input.argv[0]
        }": not found (run "make bundle", or pass pluginArgv)`,
      );
    }
    const timeout = options.timeoutSeconds === undefined
      ? []
      : ["timeout", "--kill-after=2", String(options.timeoutSeconds)];
    const out = await spawn(
      [...timeout, ...this.nodeCommand(input.argv, [], options.setup ?? [])],
      { stdin: input.stdin, env: input.env },
    );
    if (out.code === SETUP_EXIT && out.stderr.includes(SETUP_MARK)) {
      throw new SimulationError(
        "setup-failed",
        `Cannot set up the mount namespace of simulation "${this.suffix}": ${out.stderr.trim()}`,
      );
    }
    let json: unknown = null;
    try {
      json = out.stdout.trim() === "" ? null : JSON.parse(out.stdout);
    } catch {
      json = null;
    }
    return { ...out, json };
  }

  /**
   * This simulation's links in the host: the PF bridge, the VF netdevs still in the host and their
   * peers, and any host link whose veth peer is one of ours (a VF that came back under another name).
   *
   * @returns the links, sorted by name
   * @throws {SimulationError} `command-failed` when `ip` fails
   */
  async hostLinks(): Promise<LinkView[]> {
    const peers = new Set(this.vfs.map((vf) => vf.peer));
    return (await linksIn(null))
      .filter((l) => l.ifname.startsWith(this.linkPrefix) || peers.has(l.link ?? ""))
      .map(toLinkView)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Every link in the pod netns, `lo` included.
   *
   * @returns the links, sorted by name
   * @throws {SimulationError} `command-failed` when `ip` fails (e.g. after cleanup)
   */
  async podLinks(): Promise<LinkView[]> {
    return (await linksIn(this.podNetns)).map(toLinkView).sort((a, b) =>
      a.name.localeCompare(b.name)
    );
  }

  /**
   * Routes in the pod's main table, IPv4 and IPv6.
   *
   * @returns `dst [via gateway] dev name` per route, sorted
   * @throws {SimulationError} `command-failed` when `ip` fails
   */
  async podRoutes(): Promise<string[]> {
    const routes: string[] = [];
    for (const family of ["-4", "-6"]) {
      const json = await ip("-n", this.podNetns, family, "-j", "route", "show", "table", "main");
      for (const r of parseJsonList<{ dst: string; gateway?: string; dev?: string }>(json)) {
        routes.push(
          `${r.dst}${r.gateway ? ` via ${r.gateway}` : ""}${r.dev ? ` dev ${r.dev}` : ""}`,
        );
      }
    }
    return routes.sort();
  }

  /**
   * Everything the plugin may change, in a form `assert.deepEqual` compares.
   *
   * @returns see {@linkcode SimSnapshot}
   * @throws {SimulationError} `command-failed` when `ip` fails
   */
  async snapshot(): Promise<SimSnapshot> {
    const leases = await readFiles(this.ipamDataDir);
    return {
      hostLinks: await this.hostLinks(),
      podLinks: await this.podLinks(),
      podRoutes: await this.podRoutes(),
      stateFiles: await readFiles(join(this.dir, "state")),
      ipamLeases: Object.fromEntries(
        Object.entries(leases).filter(([path]) => {
          const base = path.split("/").at(-1) ?? "";
          return base !== "lock" && !base.startsWith("last_reserved_ip");
        }),
      ),
    };
  }

  /**
   * What of this simulation is still on the host. Before cleanup that is everything; after it,
   * every list must be empty.
   *
   * @returns links, netns, dirs and host mounts that carry this simulation's names
   * @throws {SimulationError} `command-failed` when `ip` fails
   */
  async residue(): Promise<SimResidue> {
    const links = (await linksIn(null)).map((l) => l.ifname).filter((n) =>
      n.startsWith(this.linkPrefix)
    );
    const mountinfo = await Deno.readTextFile("/proc/self/mountinfo");
    const dirs = [this.dir, await this.#tree()].filter((d) => d !== undefined);
    return {
      links: links.sort(),
      netns: (await netnsNames()).filter((n) => this.pods.includes(n)).sort(),
      dirs: (await Promise.all(dirs.map(async (d) => await exists(d) ? [d] : []))).flat(),
      mounts: mountinfo.split("\n").filter((line) => dirs.some((d) => line.includes(d))),
    };
  }

  /**
   * Removes everything this simulation created; run by `await using`. Every step is tried even
   * when an earlier one fails. A second call, even one made while the first still runs, waits
   * for the first and shares its outcome.
   *
   * @throws {SimulationError} `cleanup-failed` naming every step that failed
   */
  cleanup(): Promise<void> {
    this.#cleanup ??= this.#removeAll();
    return this.#cleanup;
  }

  async #removeAll(): Promise<void> {
    const failures: string[] = [];
    // 1. Delete our host links, peers first. Deleting a veth end deletes its partner wherever it
    //    is, so a VF netdev the plugin moved into the pod or renamed goes with its host peer.
    //    This also has to happen before step 2: the kernel destroys a deleted netns, and the
    //    veths in it, asynchronously, so relying on it would race the residue check.
    try {
      const names = (await linksIn(null)).map((l) => l.ifname).filter((n) =>
        n.startsWith(this.linkPrefix)
      ).sort((a, b) => Number(b.endsWith("p")) - Number(a.endsWith("p")));
      for (const name of names) {
        const out = await spawn(["ip", "link", "del", name]);
        // "Cannot find device": it went with its peer.
        if (out.code !== 0 && !out.stderr.includes("Cannot find device")) {
          failures.push(`ip link del ${name}: ${out.stderr.trim()}`);
        }
      }
    } catch (err) {
      failures.push(message(err));
    }
    // 2. Delete the pod netns; links the plugin created inside die with them.
    try {
      const present = await netnsNames();
      for (const name of this.pods.filter((n) => present.includes(n))) {
        await ip("netns", "del", name);
      }
    } catch (err) {
      failures.push(message(err));
    }
    // 3. Remove the tree and the temp dir. Nothing is mounted on the host: every mount lived in
    //    the private mount namespace of a plugin process and went away with it.
    try {
      const tree = await this.#tree();
      if (tree !== undefined) await Deno.remove(tree, { recursive: true });
      await Deno.remove(this.dir, { recursive: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) failures.push(message(err));
    }
    if (failures.length > 0) {
      throw new SimulationError(
        "cleanup-failed",
        `Cannot clean up simulation "${this.suffix}": ${failures.join("; ")}`,
      );
    }
  }

  /** The root of the fake sysfs tree, once it exists. */
  async #tree(): Promise<string | undefined> {
    this.#treeRoot ??= await treeRootOf(this.dir);
    return this.#treeRoot;
  }

  /** Same as {@linkcode Simulation.cleanup}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.cleanup();
  }
}

/**
 * Builds a simulated node: the fake PCI tree, the PF and VF links, the pod netns, and empty state
 * and IPAM dirs. On failure, whatever was created is removed before the error is thrown.
 *
 * @param options the numbers of VFs, PFs and pods, which VFs are under test, their GUIDs
 * @returns the simulation; clean it up with `await using` or `cleanup()`
 * @throws {RangeError} when `vfs` is not an integer in 1–99 (1–1,024 with `linkedVfs`), `pfs` not
 *   one in 1–8, `linkedVfs` not one in 1–99 and at most `vfs`, or `pods` not one in 1–99
 * @throws {SimulationError} `command-failed` when a link or the netns cannot be created
 *
 * @example
 * ```ts ignore
 * await using sim = await createSimulation({ vfs: 2 });
 * const run = await sim.runPlugin({ command: "ADD", config: simConfig(sim) });
 * ```
 */
export async function createSimulation(options: SimulationOptions = {}): Promise<Simulation> {
  const vfCount = options.vfs ?? 4;
  const maxVfs = options.linkedVfs === undefined ? MAX_VFS : MAX_TREE_VFS;
  if (!Number.isInteger(vfCount) || vfCount < 1 || vfCount > maxVfs) {
    throw new RangeError(
      `Cannot simulate ${vfCount} VFs: expected an integer from 1 to ${maxVfs}`,
    );
  }
  const pfCount = options.pfs ?? 1;
  if (!Number.isInteger(pfCount) || pfCount < 1 || pfCount > MAX_PFS) {
    throw new RangeError(
      `Cannot simulate ${pfCount} PFs: expected an integer from 1 to ${MAX_PFS}`,
    );
  }
  const linkedVfs = options.linkedVfs ?? vfCount;
  const maxLinked = Math.min(MAX_VFS, vfCount);
  if (!Number.isInteger(linkedVfs) || linkedVfs < 1 || linkedVfs > maxLinked) {
    throw new RangeError(
      `Cannot give ${linkedVfs} of ${vfCount} VFs real netdevs: expected an integer from 1 to ${maxLinked}`,
    );
  }
  const podCount = options.pods ?? 1;
  if (!Number.isInteger(podCount) || podCount < 1 || podCount > MAX_PODS) {
    throw new RangeError(
      `Cannot simulate ${podCount} pods: expected an integer from 1 to ${MAX_PODS}`,
    );
  }
  const shape: TreeShape = {
    vfs: vfCount,
    pfs: pfCount,
    linkedVfs,
    nodeGuid: options.nodeGuid,
  };

  // 1. Claim a suffix: creating its dir is atomic, and a suffix whose links or netns are still
  //    around (a crashed run nobody swept) is skipped.
  const taken = new Set([
    ...(await linksIn(null)).map((l) => l.ifname),
    ...(await netnsNames()),
  ]);
  let sim: Simulation | undefined;
  let spec: SysfsTreeSpec | undefined;
  for (let attempt = 0; attempt < 20 && sim === undefined; attempt++) {
    const suffix = randomSuffix();
    if (
      [...taken].some((n) =>
        n.startsWith(`${SIM_PREFIX}${suffix}`) || n.startsWith(podNetnsName(suffix))
      )
    ) {
      continue;
    }
    try {
      await Deno.mkdir(simDir(suffix));
      const tree = simTree(suffix, shape);
      const [firstPf, ...otherPfs] = tree.pfs;
      if (firstPf === undefined) throw new SimulationError("setup-failed", "The tree has no PF");
      sim = new Simulation(suffix, [firstPf, ...otherPfs], tree.vfs, podCount);
      spec = tree.spec;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
  }
  if (sim === undefined || spec === undefined) {
    throw new SimulationError("setup-failed", "Cannot find a free simulation suffix in 20 tries");
  }

  try {
    // 2. Record the owner, so sweepLeftovers() in another process leaves us alone while we live.
    await Deno.writeTextFile(join(sim.dir, "owner.pid"), `${Deno.pid}\n`);
    // 3. The fake PCI tree and the dirs the plugin's state and host-local's leases go to. The
    //    mount points must exist on the host: the mount namespace copies the host's tree.
    //    `<dir>/sys` links to the tree, which buildSysfsTree puts in a temp dir of its own.
    const tree = await buildSysfsTree(spec);
    await Deno.symlink(join(tree.root, "sys"), sim.sysDir);
    const dirs = [
      sim.stateCacheDir,
      sim.stateRunDir,
      sim.deviceInfoDir,
      sim.logDir,
      sim.ipamDataDir,
      sim.denoCacheDir,
    ];
    for (const dir of dirs) await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.mkdir(PLUGIN_CACHE_DIR, { recursive: true, mode: 0o700 });
    await Deno.mkdir(PLUGIN_RUN_DIR, { recursive: true, mode: 0o700 });
    await Deno.mkdir(DEVICE_INFO_ROOT, { recursive: true, mode: 0o700 });
    await Deno.mkdir(LOG_DIR, { recursive: true, mode: 0o700 });
    await Deno.mkdir(DENO_CACHE_DIR, { recursive: true, mode: 0o755 });
    // 4. The PF netdevs: bridges, up like PFs in service. Netlink finds them by name; VF-setting
    //    requests sent to them fail with EOPNOTSUPP, as they would on a PF without SR-IOV support.
    //    `addrgenmode none`: no IPv6 link-local address, which the kernel would add at a moment
    //    of its choosing and so make two snapshots differ for no reason of the plugin's.
    for (const pf of sim.pfs) {
      await ip("link", "add", pf.netdev, "type", "bridge");
      await ip("link", "set", pf.netdev, "addrgenmode", "none");
      await ip("link", "set", pf.netdev, "up");
    }
    // 5. The VF netdevs: veth ends, down like unused VFs; their peers stay in the host.
    for (const vf of sim.vfs) {
      await ip("link", "add", vf.netdev, "type", "veth", "peer", "name", vf.peer);
    }
    // 6. The pods' network namespaces.
    for (const name of sim.pods) await ip("netns", "add", name);
  } catch (err) {
    await sim.cleanup().catch(() => {}); // the setup error is the one worth reporting
    throw err;
  }
  return sim;
}

/**
 * Removes what crashed simulations left: `ibsim*` links, `ibsim-pod-*` netns and `ibsim-*` temp
 * dirs whose owner process is gone (or unknown). A live simulation's are kept.
 *
 * @returns what was removed
 * @throws {SimulationError} `command-failed` when `ip` fails on something other than a vanished link
 */
export async function sweepLeftovers(): Promise<SweepReport> {
  const report: SweepReport = { links: [], netns: [], dirs: [] };
  const alive = new Map<string, boolean>();
  async function orphan(suffix: string | undefined): Promise<boolean> {
    if (suffix === undefined) return true; // not one of our names: no owner to ask
    if (!alive.has(suffix)) alive.set(suffix, await ownerAlive(suffix));
    return !alive.get(suffix);
  }

  // 1. Links (peers first: each takes its partner with it, in whatever netns that is).
  const links = (await linksIn(null)).map((l) => l.ifname).filter((n) => n.startsWith(SIM_PREFIX))
    .sort((a, b) => Number(b.endsWith("p")) - Number(a.endsWith("p")));
  for (const name of links) {
    if (!await orphan(/^ibsim([0-9a-f]{4})/.exec(name)?.[1])) continue;
    const out = await spawn(["ip", "link", "del", name]);
    if (out.code === 0) report.links.push(name);
    else if (!out.stderr.includes("Cannot find device")) {
      throw new SimulationError(
        "command-failed",
        `Cannot run "ip link del ${name}": ${out.stderr.trim()}`,
      );
    }
  }
  // 2. Pod netns.
  for (const name of await netnsNames()) {
    if (!name.startsWith(`${SIM_PREFIX}-pod-`)) continue;
    if (!await orphan(/^ibsim-pod-([0-9a-f]{4})(-\d+)?$/.exec(name)?.[1])) continue;
    await ip("netns", "del", name);
    report.netns.push(name);
  }
  // 3. Temp dirs.
  for await (const entry of Deno.readDir(tmpdir())) {
    const suffix = new RegExp(`^${SIM_PREFIX}-([0-9a-f]{4})$`).exec(entry.name)?.[1];
    if (!entry.isDirectory || suffix === undefined || !await orphan(suffix)) continue;
    const tree = await treeRootOf(join(tmpdir(), entry.name));
    if (tree !== undefined) await Deno.remove(tree, { recursive: true });
    await Deno.remove(join(tmpdir(), entry.name), { recursive: true });
    report.dirs.push(join(tmpdir(), entry.name));
  }
  return report;
}

/**
 * Runs `ib-sriov validate FILE…` as an operator does: the bundle, under its own permission
 * flags, with the deno running us first on PATH and nothing else of our environment.
 *
 * @param files the files to validate
 * @returns the exit status and stdout
 * @throws {Error} when it writes to stderr
 */
export async function runValidate(...files: string[]): Promise<{ code: number; stdout: string }> {
  const bundle = fileURLToPath(new URL("../../build/ib-sriov.js", import.meta.url));
  const out = await spawn([bundle, "validate", ...files], {
    env: { PATH: `${dirname(Deno.execPath())}:/usr/bin:/bin`, NO_COLOR: "1" },
  });
  if (out.stderr !== "") throw new Error(`ib-sriov validate wrote to stderr: ${out.stderr}`);
  return { code: out.code, stdout: out.stdout };
}

/** What {@linkcode simConfig} needs of a simulation: its VFs' PCI addresses and IPAM data dir. */
export interface SimConfigTarget {
  readonly vfs: readonly Pick<SimVf, "pci">[];
  readonly ipamDataDir: string;
}

/**
 * A network config for the simulated node: the first VF, `host-local` IPAM on 10.56.217.0/24 with
 * its leases in the simulation's dir, and a default route.
 *
 * @param sim the simulation (only its VFs and IPAM data dir are used)
 * @param overrides top-level keys that replace the defaults (e.g. `{ deviceID: sim.vfs[1].pci }`)
 * @returns the config object to pass as `config` to `runPlugin`
 */
export function simConfig(
  sim: SimConfigTarget,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name: "ib-sim",
    type: "ib-sriov",
    deviceID: sim.vfs[0]?.pci,
    ipam: {
      type: "host-local",
      subnet: "10.56.217.0/24",
      gateway: "10.56.217.1",
      dataDir: sim.ipamDataDir,
      routes: [{ dst: "0.0.0.0/0" }],
    },
    ...overrides,
  };
}

/**
 * The IPv6 variant of {@linkcode simConfig}: `host-local` on fd00:56:217::/64.
 *
 * @param sim the simulation (only its VFs and IPAM data dir are used)
 * @param overrides top-level keys that replace the defaults
 * @returns the config object to pass as `config` to `runPlugin`
 */
export function simConfigV6(
  sim: SimConfigTarget,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return simConfig(sim, {
    name: "ib-sim-v6",
    ipam: {
      type: "host-local",
      subnet: "fd00:56:217::/64",
      gateway: "fd00:56:217::1",
      dataDir: sim.ipamDataDir,
      routes: [{ dst: "::/0" }],
    },
    ...overrides,
  });
}

/**
 * A snapshot without lock files, which are created once and never removed: what must be the same
 * before an ADD and after its DEL.
 *
 * @param s the snapshot
 * @returns the snapshot without `*.lock` state files
 */
export function settled(s: SimSnapshot): SimSnapshot {
  const stateFiles = Object.fromEntries(
    Object.entries(s.stateFiles).filter(([p]) => !p.endsWith(".lock")),
  );
  return { ...s, stateFiles };
}
