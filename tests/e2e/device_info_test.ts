/**
 * The NPWG device-info file, written by the plugin process (the bundle) on the simulated VF: the
 * simulation's device-info dir is bind-mounted over `/var/run/k8s.cni.cncf.io/devinfo/cni` in the
 * plugin's mount namespace. Root only.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createSimulation, type PluginRun, settled, simConfig, type Simulation } from "./sim.ts";

const DIR = "/var/run/k8s.cni.cncf.io/devinfo/cni/";

function ok(run: PluginRun, what: string): void {
  assert.equal(run.code, 0, `${what} failed: ${run.stdout}${run.stderr}`);
}

/** The file name Multus gives the device-info file of the simulation's attachment. */
function fileName(sim: Simulation): string {
  return `ib-sim-${sim.containerId}_net1`;
}

function withFile(sim: Simulation, path = `${DIR}${fileName(sim)}`): Record<string, unknown> {
  return simConfig(sim, {
    capabilities: { CNIDeviceInfoFile: true },
    runtimeConfig: { CNIDeviceInfoFile: path },
  });
}

Deno.test("plugin ADD updates Multus's 0444 device-info file with the VF's RDMA device, keeps other fields, and DEL leaves it", async () => {
  await using sim = await createSimulation();
  const vf = sim.vfs[0]!;
  const file = join(sim.deviceInfoDir, fileName(sim));
  // What Multus copies from the device plugin: an old RDMA device name and a field of its own.
  const copied = {
    type: "pci",
    version: "1.0.0",
    pci: { "pci-address": vf.pci, "rdma-device": "mlx5_99", "vhost-net": "/dev/vhost-net" },
  };
  await Deno.writeTextFile(file, JSON.stringify(copied), { mode: 0o444 });
  const config = withFile(sim);
  ok(await sim.runPlugin({ command: "ADD", config }), "ADD");
  assert.deepEqual(JSON.parse(await Deno.readTextFile(file)), {
    type: "pci",
    version: "1.1.0",
    pci: {
      "pci-address": vf.pci,
      "rdma-device": vf.rdmaDevice,
      "vhost-net": "/dev/vhost-net",
      "pf-pci-address": sim.pf.pci,
    },
  });
  assert.equal((await Deno.stat(file)).mode! & 0o7777, 0o444);
  assert.deepEqual([...Deno.readDirSync(sim.deviceInfoDir)].map((e) => e.name), [fileName(sim)]);
  ok(await sim.runPlugin({ command: "DEL", config }), "DEL");
  assert.equal(JSON.parse(await Deno.readTextFile(file)).pci["rdma-device"], vf.rdmaDevice);
});

Deno.test("plugin ADD refuses a device-info path through a symbolic link with code 7, writing nothing anywhere", async () => {
  await using sim = await createSimulation();
  const before = settled(await sim.snapshot());
  const victim = join(sim.dir, "victim");
  await Deno.writeTextFile(victim, "root's own file\n");
  await Deno.symlink(victim, join(sim.deviceInfoDir, fileName(sim)));
  const add = await sim.runPlugin({ command: "ADD", config: withFile(sim) });
  assert.equal(add.code, 1, add.stdout + add.stderr);
  assert.deepEqual(
    { code: (add.json as { code: number }).code, msg: (add.json as { msg: string }).msg },
    {
      code: 7,
      msg: `runtimeConfig.CNIDeviceInfoFile "${DIR}${
        fileName(sim)
      }" is refused: a component of the path is a symbolic link`,
    },
  );
  assert.equal(await Deno.readTextFile(victim), "root's own file\n");
  assert.deepEqual(settled(await sim.snapshot()), before);
  assert.deepEqual([...Deno.readDirSync(sim.stateCacheDir)], []);
});

Deno.test("plugin ADD refuses a device-info path outside the directory with code 7", async () => {
  await using sim = await createSimulation();
  const before = settled(await sim.snapshot());
  const add = await sim.runPlugin({ command: "ADD", config: withFile(sim, "/etc/ld.so.preload") });
  assert.equal(add.code, 1, add.stdout + add.stderr);
  assert.equal((add.json as { code: number }).code, 7);
  assert.equal(
    (add.json as { msg: string }).msg,
    `runtimeConfig.CNIDeviceInfoFile "/etc/ld.so.preload" is invalid: must be a file name directly in ${DIR} (no "..", "." or "/" after it, at most 255 bytes)`,
  );
  assert.deepEqual(settled(await sim.snapshot()), before);
});
