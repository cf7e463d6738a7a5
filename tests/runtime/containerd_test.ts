/**
 * containerd's `ctr run --cni` (go-cni, in the ctr process) runs a container on a conflist whose
 * plugin is the installed `ib-sriov`, on a simulated VF. Root only; `make bundle` first.
 *
 * The simulated VF is a veth end, and the kernel destroys a veth with the netns it is in: ctr
 * calls DEL only after the container (and so its netns) is gone, so here the VF dies with it,
 * where a real VF would return to the host. What DEL must do is still checked: the lease and the
 * attachment record go, and DEL succeeds.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createSimulation, simConfig } from "../e2e/sim.ts";
import { BUSYBOX_IMAGE, createPodman } from "./_podman.ts";
import { installBundle, logLines, run } from "./_runtime.ts";

/** A containerd of the test's own: its root, state and socket in a temp dir. */
async function startContainerd(dir: string): Promise<{ address: string } & AsyncDisposable> {
  const address = join(dir, "containerd.sock");
  const config = join(dir, "config.toml");
  await Deno.writeTextFile(
    config,
    [
      "version = 2",
      `root = ${JSON.stringify(join(dir, "root"))}`,
      `state = ${JSON.stringify(join(dir, "state"))}`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = ${JSON.stringify(address)}`,
      "",
    ].join("\n"),
  );
  const daemon = new Deno.Command("containerd", {
    args: ["--config", config],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    if ((await run(["ctr", "--address", address, "version"])).code === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address,
    async [Symbol.asyncDispose]() {
      daemon.kill("SIGTERM");
      await daemon.status;
    },
  };
}

Deno.test("ctr run --cni gives the container the VF with an address, and DEL releases the lease", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ib-sriov-containerd-" });
  try {
    const bin = join(dir, "bin");
    await Deno.mkdir(bin);
    const installed = await installBundle(bin);
    assert.equal(installed.code, 0, installed.stderr);
    const netDir = join(dir, "net.d");
    await Deno.mkdir(netDir);
    await Deno.mkdir("/etc/cni/net.d", { recursive: true });
    await Deno.mkdir("/opt/cni/bin", { recursive: true });
    // The busybox image, saved by podman as an OCI archive for ctr to import.
    const archive = join(dir, "busybox.tar");
    {
      await using podman = await createPodman(bin);
      const saved = await podman.run([
        "save",
        "--format",
        "oci-archive",
        "-o",
        archive,
        BUSYBOX_IMAGE,
      ]);
      assert.equal(saved.code, 0, saved.stderr);
    }
    await using containerd = await startContainerd(dir);
    const ctr = ["ctr", "--address", containerd.address];
    const imported = await run([...ctr, "images", "import", archive]);
    assert.equal(imported.code, 0, imported.stderr);

    await using sim = await createSimulation({ vfs: 1 });
    const vf = sim.vfs[0]!;
    const mac = (await sim.hostLinks()).find((l) => l.name === vf.netdev)!.mac;
    const { cniVersion, name: _name, ...plugin } = simConfig(sim);
    const conflist = { cniVersion, name: `ibsim-${sim.suffix}`, plugins: [plugin] };
    await Deno.writeTextFile(join(netDir, "10-ib-sriov.conflist"), JSON.stringify(conflist));
    const id = `ibsim-${sim.suffix}-ctr`;
    const argv = [...ctr, "run", "--rm", "--cni", BUSYBOX_IMAGE, id, "/bin/busybox", "ip", "addr"];
    // go-cni reads /etc/cni/net.d and runs plugins from /opt/cni/bin, inside the ctr process.
    const out = await run(
      sim.nodeCommand(argv, [[bin, "/opt/cni/bin"], [netDir, "/etc/cni/net.d"]]),
    );
    assert.equal(out.code, 0, out.stderr);
    const eth0 = out.stdout.slice(out.stdout.indexOf(": eth0"));
    assert.match(eth0, new RegExp(`link/ether ${mac} `));
    assert.match(eth0, /inet 10\.56\.217\.\d+\/24 /);
    // The plugin's log lines come through ctr's stderr: ADD attached the VF, DEL detached it.
    const lines = logLines(out.stderr).filter((l) => l.containerId === `default-${id}`);
    assert.deepEqual(lines.filter((l) => l.level === "info").map((l) => [l.command, l.msg]), [
      ["ADD", "attached"],
      ["DEL", "detached"],
    ]);
    const after = await sim.snapshot();
    assert.deepEqual(after.ipamLeases, {});
    assert.deepEqual(Object.keys(after.stateFiles).filter((p) => !p.endsWith(".lock")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
