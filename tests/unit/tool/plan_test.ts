import assert from "node:assert/strict";
import { loadNetConf } from "../../../lib/config/load_net_conf.ts";
import { buildPlan, type PlanDevice } from "../../../lib/tool/plan.ts";

const VF: PlanDevice = {
  kind: "vf",
  pci: "0000:3b:00.2",
  pfPci: "0000:3b:00.0",
  pfName: "ibp59s0f0",
  vfIndex: 1,
  netdev: "ibp59s0f2",
  driver: "mlx5_core",
  rdmaDevice: "mlx5_2",
  nodeGuid: "02:00:00:00:00:00:00:02",
};
const VFIO_VF: PlanDevice = {
  kind: "vfio-vf",
  pci: "0000:3b:00.4",
  pfPci: "0000:3b:00.0",
  pfName: "ibp59s0f0",
  vfIndex: 3,
  driver: "vfio-pci",
  rdmaDevice: null,
  nodeGuid: null,
};
const VFIO_PF: PlanDevice = {
  kind: "vfio-pf",
  pci: "0000:5e:00.0",
  driver: "vfio-pci",
  rdmaDevice: null,
  nodeGuid: null,
};
const IPAM = { type: "host-local", subnet: "10.0.0.0/24" };
const CNI = { ifname: "net1", netns: "/var/run/netns/pod" };

function conf(fields: Record<string, unknown>) {
  return loadNetConf(
    { name: "n", type: "ib-sriov", deviceID: "0000:3b:00.2", ...fields },
    "1.0.0",
    "ADD",
  );
}

function actions(plan: { steps: { action: string }[] }): string[] {
  return plan.steps.map((s) => s.action);
}

Deno.test("buildPlan() ADD with every option has the eleven steps in order, each with its undo", () => {
  const plan = buildPlan({
    command: "ADD",
    conf: conf({
      guid: "02:00:00:00:00:00:00:2A",
      link_state: "enable",
      rdmaIsolation: true,
      ipam: IPAM,
    }),
    device: VF,
    ...CNI,
  });
  assert.deepEqual(plan.steps, [
    { action: "check that the RDMA subsystem's netns mode is exclusive" },
    { action: "lock VF 0000:3b:00.2 and claim it for the attachment", undo: "release the claim" },
    {
      action: "record the attachment with the VF's original GUIDs and link state",
      undo: "remove the record",
    },
    {
      action: "set link_state enable via PF ibp59s0f0 vf 1",
      undo: "restore the original link state",
    },
    {
      action: "set node and port GUID 02:00:00:00:00:00:00:2a via PF ibp59s0f0 vf 1 (from guid)",
      undo: "restore the original GUIDs (node GUID 02:00:00:00:00:00:00:02 now)",
    },
    {
      action: "rebind 0000:3b:00.2 to mlx5_core and wait for its netdev",
      undo: "rebind after the GUIDs are restored and rename the netdev back to ibp59s0f2",
    },
    {
      action: "move RDMA device mlx5_2 into the pod (/var/run/netns/pod)",
      undo: "move mlx5_2 back to the host",
    },
    {
      action: "move the VF's new netdev (ibp59s0f2 before the rebind) to /var/run/netns/pod " +
        "as net1",
      undo: "move it back to the host as ibp59s0f2, restore its up/down state",
    },
    { action: "IPAM ADD with host-local", undo: "IPAM DEL with host-local" },
    {
      action: "add the addresses to net1, set it up, add the routes",
      undo: "none needed: they leave with the netdev",
    },
    { action: "mark the attachment attached" },
  ]);
  assert.equal(plan.failure, null);
  assert.deepEqual(plan.notes, []);
});

Deno.test("buildPlan() ADD skips the steps the config does not ask for", () => {
  const plan = buildPlan({ command: "ADD", conf: conf({}), device: VF, ...CNI });
  assert.deepEqual(actions(plan), [
    "lock VF 0000:3b:00.2 and claim it for the attachment",
    "record the attachment with the VF's original GUIDs and link state",
    "move netdev ibp59s0f2 to /var/run/netns/pod as net1",
    "mark the attachment attached",
  ]);
});

Deno.test("buildPlan() ADD of a vfio-pci VF sets link state and GUID without a rebind", () => {
  const plan = buildPlan({
    command: "ADD",
    conf: conf({
      guid: "02:00:00:00:00:00:00:2b",
      link_state: "disable",
      vfioPciMode: true,
      ipam: IPAM,
    }),
    device: VFIO_VF,
    ...CNI,
  });
  assert.deepEqual(actions(plan), [
    "lock VF 0000:3b:00.4 and claim it for the attachment",
    "record the attachment with the VF's original GUIDs and link state",
    "set link_state disable via PF ibp59s0f0 vf 3",
    "set node and port GUID 02:00:00:00:00:00:00:2b via PF ibp59s0f0 vf 3 (from guid)",
    "mark the attachment attached",
  ]);
  assert.equal(plan.failure, null);
  assert.deepEqual(plan.notes, [
    "the current GUID of 0000:3b:00.4 is unknown here (it has no RDMA device); ADD reads it from the PF",
  ]);
});

Deno.test("buildPlan() ADD of a vfio-pci PF is lock, record, done", () => {
  const plan = buildPlan({
    command: "ADD",
    conf: conf({ guid: "02:00:00:00:00:00:00:2b", vfioPciMode: true }),
    device: VFIO_PF,
    ...CNI,
  });
  assert.deepEqual(actions(plan), [
    "lock PF 0000:5e:00.0 and claim it for the attachment",
    "record the attachment",
    "mark the attachment attached",
  ]);
  assert.deepEqual(plan.notes, [
    "guid and link_state do not apply to a PF passed through: they are not set",
  ]);
});

Deno.test("buildPlan() ADD without a GUID fails on a VF whose GUID is all zeros or all ones", () => {
  for (const nodeGuid of ["00:00:00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff:ff:ff"]) {
    const plan = buildPlan({ command: "ADD", conf: conf({}), device: { ...VF, nodeGuid }, ...CNI });
    assert.equal(
      plan.failure,
      `ADD will fail: no GUID is given and VF 0000:3b:00.2 has node GUID ${nodeGuid}, which means ` +
        "unset; give one (guid, args.cni.guid or runtimeConfig.infinibandGUID), or let " +
        "ib-kubernetes assign one (ibKubernetesEnabled)",
    );
    const given = buildPlan({
      command: "ADD",
      conf: conf({ runtimeConfig: { infinibandGUID: "02:00:00:00:00:00:00:07" } }),
      device: { ...VF, nodeGuid },
      ...CNI,
    });
    assert.equal(given.failure, null);
  }
});

Deno.test("buildPlan() DEL undoes the record in reverse: IPAM first, rebind and rename last", () => {
  const plan = buildPlan({
    command: "DEL",
    conf: conf({
      guid: "02:00:00:00:00:00:00:2a",
      link_state: "enable",
      rdmaIsolation: true,
      ipam: IPAM,
    }),
    device: VF,
    ...CNI,
  });
  assert.deepEqual(actions(plan), [
    "read the attachment record (without one, only IPAM DEL is left to do)",
    "IPAM DEL with host-local",
    "lock VF 0000:3b:00.2",
    "move net1 back from /var/run/netns/pod to the host as vfdev<ifindex>, rename it to " +
    "ibp59s0f2, restore its up/down state",
    "move RDMA device mlx5_2 back to the host",
    "restore the original link state via PF ibp59s0f0 vf 1",
    "restore the original node and port GUIDs via PF ibp59s0f0 vf 1",
    "rebind 0000:3b:00.2 to mlx5_core and wait for its netdev",
    "rename the VF's netdev back to ibp59s0f2",
    "remove the attachment record and release the claim",
  ]);
  assert.ok(plan.steps.every((s) => s.undo === undefined));
  assert.equal(plan.failure, null);
});

Deno.test("buildPlan() notes that ibKubernetesEnabled makes ADD wait for ib-kubernetes", () => {
  const plan = buildPlan({
    command: "ADD",
    conf: conf({ ibKubernetesEnabled: true }),
    device: VF,
    ...CNI,
  });
  assert.deepEqual(plan.notes, [
    'ibKubernetesEnabled: ADD asks the runtime to retry until args.cni["mellanox.infiniband.app"] is "configured"',
  ]);
});
