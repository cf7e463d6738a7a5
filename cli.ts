/**
 * The ib-sriov executable. When CNI_COMMAND is set it is the CNI plugin; otherwise it is the
 * operator's tool (validate, dry-run, doctor). This file is the only one that touches the
 * process: environment, arguments, stdin, stdout, exit status.
 *
 * @module
 */
import meta from "./deno.json" with { type: "json" };
import { dispatch, failureFields } from "./lib/cni/dispatch.ts";
import { CniError, CniErrorCode } from "./lib/cni/errors.ts";
import { createLogger } from "./lib/log.ts";
import { createHandlers } from "./lib/plugin/handlers.ts";
import type { Deps } from "./lib/plugin/deps.ts";
import { LOG_DIR, MAX_CONFIG_BYTES } from "./lib/config/limits.ts";
import { Timings } from "./lib/timings.ts";

/** When the bundle had been evaluated, in ms since Deno started. */
const EVALUATED_AT = performance.now();
/**
 * Later than this, V8 compiled the bundle rather than load it from Deno's code cache (about
 * 5.5 ms with the cache, 44 without; the shebang's `--no-lazy` compiles every function).
 */
const COMPILED_MS = 15;

/** The run's timeline; its clock's zero is the runtime's start, so this first mark is the bundle's. */
const TIMINGS = new Timings(() => performance.now(), () => Deno.memoryUsage().rss);
TIMINGS.mark("bundle evaluated");

/** How long ADD and DEL wait for a VF's lock before asking the runtime to retry. */
const LOCK_TIMEOUT_MS = 30_000;
/**
 * How long ADD and DEL wait for a VF's netdev after a rebind. mlx5 creates it inside the bind
 * write, so this bounds only a slow probe or a late udev rename.
 */
const NETDEV_TIMEOUT_MS = 10_000;

const ABOUT = `ib-sriov CNI plugin v${meta.version}`;

function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
}

/**
 * Reads stdin to its end with blocking reads: the process has nothing else to do meanwhile, and
 * `new Response(Deno.stdin.readable)` would load Deno's fetch module first (~3 ms).
 */
function readStdin(): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const chunk = new Uint8Array(64 * 1024);
    const n = Deno.stdin.readSync(chunk);
    if (n === null) break;
    chunks.push(chunk.subarray(0, n));
    size += n;
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  TIMINGS.mark("stdin read");
  return Promise.resolve(bytes);
}

/**
 * Stops the process when its thread could not switch back from a network namespace: whatever ran
 * next (a rollback, an IPAM DEL, GC's next attachment) would run in the wrong one. The error object
 * and one error record (stderr, not the config's logFile) are all it writes.
 */
function stopInWrongNetns(message: string): never {
  const error = new CniError(CniErrorCode.KernelError, message, {
    details:
      "the plugin stopped at once, its thread in the wrong network namespace; nothing was undone",
  });
  writeAll(Deno.stdout, JSON.stringify(error.toJSON(), null, 4) + "\n");
  const command = getenv("CNI_COMMAND") ?? "";
  createLogger((line) => writeAll(Deno.stderr, line), "error", { command })
    .error(`${command} failed`, failureFields(error, "not run"));
  Deno.exit(1);
}

function getenv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    // A variable outside the granted list reads as unset.
    return undefined;
  }
}

/**
 * The real dependencies, imported on first use: VERSION and argument errors never load libnl,
 * libc or the state store, nor evaluate their modules.
 */
async function loadRealDeps(open: DisposableStack): Promise<Deps> {
  TIMINGS.mark("dependencies import");
  const [sysfs, netlink, netns, pci, rdma, ipam, state, logFile, deviceInfo] = await Promise.all([
    import("./lib/sysfs/libc_sysfs.ts"),
    import("./lib/netlink/libnl_netlink.ts"),
    import("./lib/netlink/netns.ts"),
    import("./lib/netlink/libc_pci_driver.ts"),
    import("./lib/netlink/libnl_rdma.ts"),
    import("./lib/ipam/exec_ipam.ts"),
    import("./lib/state/file_store.ts"),
    import("./lib/state/log_file.ts"),
    import("./lib/state/device_info.ts"),
  ]);
  return {
    sysfs: new sysfs.LibcSysfs(),
    netlink: new netlink.LibnlNetlink(stopInWrongNetns),
    pciDriver: new pci.LibcPciDriver(),
    rdma: new rdma.LibnlRdma(stopInWrongNetns),
    ipam: new ipam.ExecIpam(),
    store: open.use(new state.FileStore({ netnsExists: netns.netnsPathExists })),
    deviceInfo: new deviceInfo.DeviceInfoFiles(),
    log: (line) => writeAll(Deno.stderr, line),
    openLog: (path) => {
      // Open once per request and keep it open: the process exits when the request is done.
      const file = logFile.openLogFile(LOG_DIR, path);
      return (line) => file.write(line);
    },
    lockTimeoutMs: LOCK_TIMEOUT_MS,
    netdevTimeoutMs: NETDEV_TIMEOUT_MS,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    timings: TIMINGS,
  };
}

/**
 * Gives node's `process.env` a view that reads through {@linkcode getenv}, where a variable
 * outside the granted list is unset. The `yaml` package reads `process.env.LOG_TOKENS` and
 * `LOG_STREAM` on every parse, and a denied read would throw inside it; this way the tool parses
 * YAML under the plugin's own `--allow-env`, which need not grant `LOG_*`.
 */
async function envThroughGetenv(): Promise<void> {
  const { default: process } = await import("node:process");
  process.env = new Proxy({}, {
    get: (_target, name) => typeof name === "string" ? getenv(name) : undefined,
  }) as typeof process.env;
}

/**
 * The operator's tool. Its modules (the YAML parser among them) are imported only here, so the
 * plugin's start-up never loads them.
 */
async function toolMain(): Promise<number> {
  await envThroughGetenv();
  const [tool, libnl, validator, sysfs, nodeReader, rdma, state, netns] = await Promise.all([
    import("./lib/tool/main.ts"),
    import("./lib/netlink/libnl_netlink.ts"),
    import("./lib/config/validate_config.ts"),
    import("./lib/sysfs/libc_sysfs.ts"),
    import("./lib/sysfs/libc_node_reader.ts"),
    import("./lib/netlink/libnl_rdma.ts"),
    import("./lib/state/file_store.ts"),
    import("./lib/netlink/netns.ts"),
  ]);
  const { FsInstaller } = await import("./lib/tool/installer.ts");
  using store = new state.FileStore({ netnsExists: netns.netnsPathExists });
  return await tool.runTool(Deno.args, {
    stdout: (text) => writeAll(Deno.stdout, text),
    stderr: (text) => writeAll(Deno.stderr, text),
    // Through libc: the binary has no Deno file grant, and an operator names configs anywhere.
    readFile: (path) => Promise.resolve(sysfs.readOperatorFile(path, MAX_CONFIG_BYTES)),
    version: ABOUT,
    validateConfig: validator.validateConfigBytes,
    sysfs: (root) => new sysfs.LibcSysfs({ root }),
    nodeReader: (root) => new nodeReader.LibcNodeReader({ root }),
    loadLibnl: () => void libnl.openLibnl(),
    rdma: () => new rdma.LibnlRdma(stopInWrongNetns),
    store: () => store,
    checkStateDir: async () => {
      using _lock = await store.lock("status", 1000);
    },
    netnsExists: netns.netnsPathExists,
    installer: () => new FsInstaller(),
    program: {
      standalone: Deno.build.standalone,
      mainModule: Deno.mainModule,
      execPath: Deno.execPath(),
    },
    waitForSignal: () =>
      new Promise((resolve) => {
        // As PID 1 in a container a signal without a handler is ignored: these handlers are
        // what lets the pod stop.
        for (const signal of ["SIGTERM", "SIGINT"] as const) {
          Deno.addSignalListener(signal, () => resolve(signal));
        }
      }),
  });
}

async function pluginMain(): Promise<number> {
  // What the dependencies hold open (the state store's directories), closed after the command.
  using open = new DisposableStack();
  let deps: Promise<Deps> | undefined;
  // dispatch() never throws: every failure becomes an error object and a non-zero exit (a failed
  // switch back from a netns stops the process earlier, in stopInWrongNetns).
  return await dispatch(
    {
      getenv,
      readStdin,
      stdout: (text) => writeAll(Deno.stdout, text),
      stderr: (text) => writeAll(Deno.stderr, text),
    },
    createHandlers(() => deps ??= loadRealDeps(open), TIMINGS),
    ABOUT,
  );
}

// The operator's tool exits at once: `install` leaves signal listeners, which would keep the
// process alive.
if (getenv("CNI_COMMAND") === undefined) Deno.exit(await toolMain());

// Deno stores a module's V8 code cache only once its evaluation has finished, so a process that
// calls Deno.exit() inside it never gets one (every start would compile the bundle again, ~7 ms).
// Letting it finish costs about 5 ms of Deno's own work per run, so the plugin does (exiting from
// a timer, without tearing the runtime down) only when the bundle was compiled, which writes the
// cache; once there is one, it exits at once.
const status = await pluginMain();
if (EVALUATED_AT > COMPILED_MS) setTimeout(() => Deno.exit(status), 0);
else Deno.exit(status);
