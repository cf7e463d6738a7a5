import assert from "node:assert/strict";
import { type CniRequest, dispatch } from "../../lib/cni/dispatch.ts";
import { validateConfigBytes } from "../../lib/config/validate_config.ts";
import { createHandlers } from "../../lib/plugin/handlers.ts";
import { CniError } from "../../lib/cni/errors.ts";
import { cmdAdd } from "../../lib/plugin/add.ts";
import type { CniCommand } from "../../lib/cni/env.ts";
import type { CniVersion } from "../../lib/cni/versions.ts";
import type { Deps } from "../../lib/plugin/deps.ts";
import { DeviceInfoFiles } from "../../lib/state/device_info.ts";
import { FileStore } from "../../lib/state/file_store.ts";
import { FaultyDeviceInfo } from "../fakes/faulty_device_info.ts";
import { FakeIpam } from "../fakes/fake_ipam.ts";
import { FakeKernel } from "../fakes/fake_kernel.ts";
import { Faults } from "../fakes/faults.ts";
import { openFds } from "../open_fds.ts";

/** The PF and VFs of the in-memory node. */
export const PF = { pci: "0000:3b:00.0", name: "ibp59s0f0" };
export const VFS = [
  { pci: "0000:3b:00.1", netdev: "ibp59s0f0v0" },
  { pci: "0000:3b:00.2", netdev: "ibp59s0f0v1", up: true },
  { pci: "0000:3b:00.3", netdev: "ibp59s0f0v2" },
];
export const POD = "/var/run/netns/pod-a";
export const POD_B = "/var/run/netns/pod-b";

/** One node: in-memory kernel and IPAM sharing a fault counter, and a real store in a temp dir. */
export interface World extends AsyncDisposable {
  kernel: FakeKernel;
  ipam: FakeIpam;
  faults: Faults;
  store: FileStore;
  deps: Deps;
  logs: string[];
  /** The lines `deps.openLog` writers received, per log file path. */
  logFiles: Map<string, string[]>;
  /** Log file paths that `deps.openLog` refuses to open, with the error it throws. */
  logFileErrors: Map<string, Error>;
  stateDir: string;
  /** Where the device-info files of `/var/run/k8s.cni.cncf.io/devinfo/cni/` are. */
  deviceInfoDir: string;
  /** Every file under the state directory except lock files, which are never removed. */
  stateFiles(): string[];
}

/**
 * Builds a node with one PF, three VFs and two pod namespaces. The kernel starts with RDMA in
 * exclusive mode, VF GUIDs and link state settable through the PF, netdevs that appear at once
 * after a bind and keep the kernel's `ib<N>` name (no udev rule): change that with the kernel's
 * world-building methods.
 */
export async function world(): Promise<World> {
  const faults = new Faults();
  const kernel = new FakeKernel(faults);
  kernel.addPf(PF.pci, PF.name, VFS);
  kernel.addNetns(POD);
  kernel.addNetns(POD_B);
  const ipam = new FakeIpam(faults);
  const fds = openFds();
  const stateDir = await Deno.makeTempDir({ prefix: "ib-sriov-plugin-" });
  const store = new FileStore({
    cacheDir: `${stateDir}/cache`,
    runDir: `${stateDir}/run`,
    netnsExists: (path) => kernel.hasNetns(path),
  });
  // The device-info directory is outside the state directory: stateFiles() must not list it.
  const deviceInfoDir = await Deno.makeTempDir({ prefix: "ib-sriov-devinfo-" });
  const logs: string[] = [];
  const logFiles = new Map<string, string[]>();
  const logFileErrors = new Map<string, Error>();
  const deps: Deps = {
    sysfs: kernel,
    netlink: kernel,
    pciDriver: kernel,
    rdma: kernel,
    ipam,
    store,
    deviceInfo: new FaultyDeviceInfo(new DeviceInfoFiles(deviceInfoDir), faults),
    log: (l) => void logs.push(l),
    openLog: (path) => {
      const error = logFileErrors.get(path);
      if (error !== undefined) throw error;
      const lines = logFiles.get(path) ?? [];
      logFiles.set(path, lines);
      return (l) => void lines.push(l);
    },
    lockTimeoutMs: 500,
    netdevTimeoutMs: 1000,
    // The kernel's fake clock: a wait for a netdev runs what the kernel and udev do meanwhile,
    // and costs no wall time.
    sleep: (ms) => kernel.sleep(ms),
  };
  const stateFiles = (): string[] => {
    const out: string[] = [];
    const walk = (dir: string, rel: string) => {
      let entries: Deno.DirEntry[];
      try {
        entries = [...Deno.readDirSync(dir)];
      } catch {
        return;
      }
      for (const e of entries) {
        if (e.isDirectory) walk(`${dir}/${e.name}`, `${rel}${e.name}/`);
        else if (!/\.lock$/.test(e.name)) out.push(`${rel}${e.name}`);
      }
    };
    walk(stateDir, "");
    return out.sort();
  };
  return {
    kernel,
    ipam,
    faults,
    store,
    deps,
    logs,
    logFiles,
    logFileErrors,
    stateDir,
    deviceInfoDir,
    stateFiles,
    async [Symbol.asyncDispose]() {
      store[Symbol.dispose]();
      assert.equal(
        openFds(),
        fds,
        "the fds the world's store and device-info files opened are closed",
      );
      await Deno.remove(stateDir, { recursive: true });
      await Deno.remove(deviceInfoDir, { recursive: true });
    },
  };
}

/** A network config for VF `vf` with host-local-like IPAM. */
export function netConf(vf = 1, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name: "ib-net",
    type: "ib-sriov",
    deviceID: VFS[vf]!.pci,
    ipam: { type: "host-local", subnet: "10.56.217.0/24" },
    ...extra,
  };
}

/**
 * A request as the dispatcher would hand it over, with the validator's warnings about `config`.
 * A config that breaks a rule never reaches a handler of ADD, CHECK or STATUS: see {@link invoke}.
 */
export function request(
  command: CniCommand,
  config: Record<string, unknown>,
  opts: { containerId?: string; ifname?: string; netns?: string; cniVersion?: CniVersion } = {},
): CniRequest {
  const stdin = new TextEncoder().encode(JSON.stringify(config));
  const warnings = validateConfigBytes(stdin, {
    pluginConfig: true,
    requireDeviceId: command === "ADD" || command === "CHECK",
  }).filter((v) => v.severity === "warning");
  return {
    ...(warnings.length === 0 ? {} : { warnings }),
    args: {
      command,
      containerId: opts.containerId ?? "ctr-a",
      netns: opts.netns ?? POD,
      ifname: opts.ifname ?? "net1",
      args: {},
      argsRaw: "",
      path: "/opt/cni/bin",
      netnsOverride: false,
    },
    cniVersion: opts.cniVersion ?? "1.0.0",
    config,
    stdin,
  };
}

/** Runs `command` with `config` through `dispatch()` and the real handlers, as a runtime does. */
export async function invoke(
  w: World,
  command: CniCommand,
  config: Record<string, unknown>,
): Promise<{ status: number; stdout: string }> {
  const env: Record<string, string> = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: "ctr-a",
    CNI_NETNS: POD,
    CNI_IFNAME: "net1",
    CNI_PATH: "/opt/cni/bin",
  };
  let stdout = "";
  const status = await dispatch(
    {
      getenv: (name) => env[name],
      readStdin: () => Promise.resolve(new TextEncoder().encode(JSON.stringify(config))),
      stdout: (text) => void (stdout += text),
      stderr: () => {},
    },
    createHandlers(() => w.deps),
    "about",
  );
  return { status, stdout };
}

/**
 * The whole messages of ADD's errors when its last four steps fail (IPAM, the address, link up,
 * the default route of `netConf`'s IPAM), the first of them being step `n`.
 */
export function podStepErrors(n: number): string[] {
  return [
    `IPAM plugin "host-local" ADD failed: injected fault at step ${n}`,
    `Cannot add address "10.56.217.10/24" to "net1" in netns "${POD}": injected fault at step ${
      n + 1
    }`,
    `Cannot set "net1" up in netns "${POD}": injected fault at step ${n + 2}`,
    `Cannot add route "0.0.0.0/0" via "10.56.217.1" in netns "${POD}": injected fault at step ${
      n + 3
    }`,
  ];
}

/**
 * Fails ADD's mutating step `n` on a fresh node and asserts that ADD fails with `message` and
 * leaves the node, the state directory and the IPAM leases as they were.
 *
 * @param node builds the node
 * @param config the ADD's config
 * @param n the step to fail, 1-based
 * @param message the whole message of ADD's error
 */
export async function assertAddUndoneAt(
  node: () => Promise<World>,
  config: Record<string, unknown>,
  n: number,
  message: string | undefined,
): Promise<void> {
  await using w = await node();
  const before = w.kernel.view();
  w.faults.failAt = n;
  const err = await cmdAdd(w.deps, request("ADD", config)).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof CniError, `step ${n}: ${String(err)}`);
  assert.equal(err.message, message, `step ${n}`);
  assert.deepEqual(w.kernel.view(), before, `after failing step ${n}: ${w.faults.log[n - 1]}`);
  assert.deepEqual(w.stateFiles(), [], `state after failing step ${n}`);
  assert.equal(w.ipam.leases.size, 0, `lease after failing step ${n}`);
}
