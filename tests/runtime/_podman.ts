/**
 * Debian's podman, with its CNI backend, on a simulated node: the plugin it runs is the one
 * `ib-sriov install` put in a temp dir, which is the node's `/opt/cni/bin` inside the
 * simulation's mount namespace (where the fake PCI tree is). Storage, run dir, network configs
 * and podman's settings are the test's own, so nothing of the host's podman is touched.
 *
 * @module
 */
import { join } from "node:path";
import type { Simulation } from "../e2e/sim.ts";
import { must, type Ran, run } from "./_runtime.ts";

/** The busybox image every container of the tier runs (a `podman import` of busybox-static). */
export const BUSYBOX_IMAGE = "localhost/ibsim-busybox:1";

/**
 * These machines lack CAP_SYS_RESOURCE, so podman's default `nofile` ulimit is refused; crun
 * refuses the hybrid cgroup layout, so runc runs the containers.
 */
export const RUN_FLAGS = [
  "--runtime",
  "runc",
  "--ulimit",
  "nofile=1024:1024",
  "--ulimit",
  "nproc=1024:1024",
] as const;

/** A podman of the test's own. */
export interface Podman extends AsyncDisposable {
  /** The temp dir: storage, run dir, `containers.conf`, `net.d`. */
  dir: string;
  /** Where CNI configs go (`network_config_dir`). */
  netDir: string;
  /**
   * Runs podman with `args`.
   *
   * @param sim when given, podman runs on this simulated node with `binDir` as `/opt/cni/bin`
   * @param wrapper a command line that runs podman (e.g. `strace …`), when given
   */
  run(args: readonly string[], sim?: Simulation, wrapper?: readonly string[]): Promise<Ran>;
}

/**
 * Creates a podman of the test's own, its CNI plugins from `/opt/cni/bin` (then Debian's).
 *
 * @param binDir the CNI bin dir the plugin was installed into; `/opt/cni/bin` on the node
 * @returns the podman; dispose it to remove its storage
 */
export async function createPodman(binDir: string): Promise<Podman> {
  const dir = await Deno.makeTempDir({ prefix: "ib-sriov-podman-" });
  const netDir = join(dir, "net.d");
  await Deno.mkdir(netDir);
  const conf = join(dir, "containers.conf");
  await Deno.writeTextFile(
    conf,
    [
      "[network]",
      'network_backend = "cni"',
      'cni_plugin_dirs = ["/opt/cni/bin", "/usr/lib/cni"]',
      `network_config_dir = ${JSON.stringify(netDir)}`,
      "[engine]",
      // No systemd and no journald here.
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      'runtime = "runc"',
      "",
    ].join("\n"),
  );
  const global = ["--root", join(dir, "root"), "--runroot", join(dir, "run")];
  const env = { ...Deno.env.toObject(), CONTAINERS_CONF: conf };
  const podman: Podman = {
    dir,
    netDir,
    run: (args, sim, wrapper = []) => {
      const argv = [...wrapper, "podman", ...global, ...args];
      return run(sim === undefined ? argv : sim.nodeCommand(argv, [[binDir, "/opt/cni/bin"]]), {
        env,
      });
    },
    async [Symbol.asyncDispose]() {
      // Unmounts what the storage still has mounted, then removes it.
      await run(["podman", ...global, "system", "reset", "--force"], { env });
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  // The test image: busybox-static alone, called by its path.
  const rootfs = join(dir, "busybox-rootfs");
  await Deno.mkdir(join(rootfs, "bin"), { recursive: true });
  await Deno.copyFile("/bin/busybox", join(rootfs, "bin/busybox"));
  const tar = join(dir, "busybox.tar");
  await must(["tar", "-C", rootfs, "-cf", tar, "."]);
  const imported = await podman.run(["import", "--quiet", tar, BUSYBOX_IMAGE]);
  if (imported.code !== 0) throw new Error(`podman import: ${imported.stderr.trim()}`);
  return podman;
}
