/**
 * The InfiniBand configuration through the plugin process (the bundle, `make bundle` first) on
 * the simulated VF. The simulated PF is a bridge: the kernel answers EOPNOTSUPP to VF GUID and
 * link-state requests for it, and this kernel has no RDMA netlink, so what can be proven here is
 * that each of those fails cleanly, with the message an operator needs, and leaves the host as it
 * was; and that a VF's own GUID is read from its RDMA device's node_guid. Root only.
 */
import assert from "node:assert/strict";
import { createSimulation, type PluginRun, settled, simConfig } from "./sim.ts";

function cniError(run: PluginRun): { code: number; msg: string; details?: string } {
  assert.equal(run.code, 1, `expected a failure, got ${run.stdout}`);
  assert.doesNotMatch(run.stderr, /\n\s+at .*:\d+:\d+/, "no stack trace");
  return run.json as { code: number; msg: string; details?: string };
}

Deno.test("plugin ADD with a GUID fails cleanly on a PF that cannot set VF GUIDs, host as before", async () => {
  await using sim = await createSimulation();
  const before = settled(await sim.snapshot());
  const guid = "02:00:00:00:00:0a:00:01";
  const add = await sim.runPlugin({
    command: "ADD",
    config: simConfig(sim, { runtimeConfig: { infinibandGUID: guid } }),
  });
  const err = cniError(add);
  assert.equal(err.code, 100);
  assert.equal(
    err.msg,
    `Cannot set the node and port GUID of VF 0 to "${guid}" through PF "${
      sim.pfs[0]!.netdev
    }": the PF's driver cannot set VF GUIDs (Operation not supported)`,
  );
  assert.equal(
    err.details,
    "VF GUIDs need an InfiniBand PF whose driver supports them (mlx5_core)",
  );
  assert.deepEqual(settled(await sim.snapshot()), before);
});

Deno.test("plugin ADD with link_state fails cleanly on a PF that cannot set VF link state", async () => {
  await using sim = await createSimulation();
  const before = settled(await sim.snapshot());
  const add = await sim.runPlugin({
    command: "ADD",
    config: simConfig(sim, { link_state: "enable" }),
  });
  const err = cniError(add);
  assert.equal(err.code, 100);
  assert.equal(
    err.msg,
    `Cannot set the link state of VF 0 to "enable" through PF "${
      sim.pfs[0]!.netdev
    }": the PF's driver cannot set VF link state (Operation not supported)`,
  );
  assert.equal(
    err.details,
    "link_state needs a PF whose driver can set VF link state (mlx5_core); without link_state " +
      "the VF keeps its own",
  );
  assert.deepEqual(settled(await sim.snapshot()), before);
});

Deno.test("plugin ADD without a GUID uses the VF's node_guid, and refuses an all-zero one with the fixes", async () => {
  await using sim = await createSimulation({
    vfs: 2,
    nodeGuid: (_pf, vf) => vf === 0 ? "0200:0000:0000:0007" : "0000:0000:0000:0000",
  });
  const before = settled(await sim.snapshot());
  const good = await sim.runPlugin({ command: "ADD", config: simConfig(sim) });
  assert.equal(good.code, 0, good.stdout + good.stderr);
  const del = await sim.runPlugin({ command: "DEL", config: simConfig(sim) });
  assert.equal(del.code, 0, del.stdout + del.stderr);
  assert.deepEqual(settled(await sim.snapshot()), before);

  const zero = await sim.runPlugin({
    command: "ADD",
    config: simConfig(sim, { deviceID: sim.vfs[1]!.pci }),
  });
  const err = cniError(zero);
  assert.equal(err.code, 100);
  assert.equal(
    err.msg,
    `deviceID "${
      sim.vfs[1]!.pci
    }": the VF's GUID is "00:00:00:00:00:00:00:00", which is not an assigned GUID, and the config requests none`,
  );
  assert.match(
    err.details ?? "",
    /runtimeConfig\.infinibandGUID .*args\.cni\.guid.*ibKubernetesEnabled/,
  );
  assert.deepEqual(settled(await sim.snapshot()), before);
});

Deno.test("plugin ADD with rdmaIsolation says the kernel has no RDMA netlink, and STATUS reports it as code 50", async () => {
  await using sim = await createSimulation();
  const before = settled(await sim.snapshot());
  const add = await sim.runPlugin({
    command: "ADD",
    config: simConfig(sim, { rdmaIsolation: true }),
  });
  const err = cniError(add);
  assert.equal(err.code, 101);
  assert.equal(
    err.msg,
    "rdmaIsolation is true but the kernel has no RDMA netlink (NETLINK_RDMA is not a supported " +
      "protocol); load the ib_core module (modprobe ib_core)",
  );
  assert.deepEqual(settled(await sim.snapshot()), before);
  const status = await sim.runPlugin({
    command: "STATUS",
    config: simConfig(sim, { cniVersion: "1.1.0", rdmaIsolation: true, ipam: undefined }),
  });
  assert.equal(cniError(status).code, 50);
  assert.equal(
    cniError(status).msg,
    "rdmaIsolation is true but the kernel has no RDMA netlink (NETLINK_RDMA is not a supported " +
      "protocol); load the ib_core module (modprobe ib_core)",
  );
});
