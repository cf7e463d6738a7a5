import assert from "node:assert/strict";
import { CniError } from "../../lib/cni/errors.ts";
import { cmdAdd } from "../../lib/plugin/add.ts";
import { cmdCheck } from "../../lib/plugin/check.ts";
import { cmdDel } from "../../lib/plugin/del.ts";
import { cmdGc } from "../../lib/plugin/gc.ts";
import { cmdStatus } from "../../lib/plugin/status.ts";
import { assertRejectsCniError } from "../assert_cni_error.ts";
import { HOST_NETNS } from "../fakes/fake_kernel.ts";
import {
  assertAddUndoneAt,
  netConf,
  PF,
  POD,
  POD_B,
  podStepErrors,
  request,
  VFS,
  world,
} from "./world.ts";

const GUID = "02:00:00:00:00:0a:00:01";
const KEY = { containerId: "ctr-a", ifname: "net1" };
/** A config with a GUID, a link state and RDMA isolation: every InfiniBand step of ADD. */
const FULL = netConf(1, {
  runtimeConfig: { infinibandGUID: GUID.toUpperCase() },
  link_state: "enable",
  rdmaIsolation: true,
});
/** RDMA isolation alone: no rebind follows to rename the netdev the RDMA moves recreate. */
const RDMA_ONLY = netConf(1, { rdmaIsolation: true });

Deno.test("cmdAdd() sets the node and port GUID through the PF and rebinds the VF so it takes effect", async () => {
  await using w = await world();
  const before = w.kernel.vfView(VFS[1]!.pci);
  await cmdAdd(w.deps, request("ADD", netConf(1, { args: { cni: { guid: GUID } } })));
  const vf = w.kernel.vfView(VFS[1]!.pci);
  assert.equal(vf.nodeGuid, GUID);
  assert.equal(vf.portGuid, GUID);
  assert.deepEqual(vf.probed, { nodeGuid: GUID, portGuid: GUID });
  assert.equal(vf.netns, POD);
  assert.equal(vf.netdev, "net1");
  // The IPoIB address carries the port GUID in its last 8 bytes once the driver re-read it.
  assert.ok(w.kernel.linksIn(POD).get("net1")!.address.endsWith(GUID));
  const record = w.store.readAttachment(KEY)!;
  assert.deepEqual(record.original, { nodeGuid: before.nodeGuid, portGuid: before.portGuid });
  assert.equal(record.hostIfName, VFS[1]!.netdev);
  assert.equal(record.kind, "vf");
  assert.equal(record.driver, "mlx5_core");
});

Deno.test("cmdDel() after RDMA isolation alone gives the recreated netdev its host name and state", async () => {
  await using w = await world();
  const before = w.kernel.view();
  await cmdAdd(w.deps, request("ADD", RDMA_ONLY));
  await cmdDel(w.deps, request("DEL", RDMA_ONLY));
  assert.deepEqual(w.kernel.view(), before);
});

Deno.test("cmdDel() restores the GUIDs, the link state, the RDMA device and the host name", async () => {
  await using w = await world();
  const before = w.kernel.view();
  await cmdAdd(w.deps, request("ADD", FULL));
  assert.equal(w.kernel.vfView(VFS[1]!.pci).linkState, "enable");
  assert.equal(w.kernel.vfView(VFS[1]!.pci).rdmaNetns, POD);
  await cmdDel(w.deps, request("DEL", FULL));
  assert.deepEqual(w.kernel.view(), before);
  assert.deepEqual(w.stateFiles(), []);
  assert.equal(w.ipam.leases.size, 0);
});

Deno.test("cmdAdd() does not rebind a VF that already has the requested GUID", async () => {
  await using w = await world();
  w.kernel.setBootGuids(VFS[1]!.pci, { nodeGuid: GUID, portGuid: GUID });
  await cmdAdd(w.deps, request("ADD", netConf(1, { guid: GUID })));
  assert.equal(w.faults.log.some((step) => /unbind|bind|set vf/.test(step)), false);
  const record = w.store.readAttachment(KEY);
  assert.ok(record?.kind === "vf");
  assert.equal(record.original?.nodeGuid, undefined);
});

Deno.test("cmdAdd() refuses a VF whose own GUID is unassigned when none is requested, naming the fixes", async () => {
  await using w = await world();
  w.kernel.setBootGuids(VFS[1]!.pci, {
    nodeGuid: "00:00:00:00:00:00:00:00",
    portGuid: "00:00:00:00:00:00:00:00",
  });
  const before = w.kernel.view();
  const err = await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", netConf(1))),
    100,
    `deviceID "${
      VFS[1]!.pci
    }": the VF's GUID is "00:00:00:00:00:00:00:00", which is not an assigned GUID, and the config requests none`,
  );
  assert.match(
    err.details,
    /runtimeConfig\.infinibandGUID .* args\.cni\.guid .* ibKubernetesEnabled/,
  );
  assert.deepEqual(w.kernel.view(), before);
  assert.deepEqual(w.stateFiles(), []);
});

for (
  const [setting, option, message, details] of [
    [
      "GUIDs",
      { vfGuids: false },
      `Cannot set the node and port GUID of VF 1 to "${GUID}" through PF "${PF.name}": the PF's ` +
      "driver cannot set VF GUIDs (Operation not supported)",
      "VF GUIDs need an InfiniBand PF whose driver supports them (mlx5_core)",
    ],
    [
      "link state",
      { vfLinkState: false },
      `Cannot set the link state of VF 1 to "disable" through PF "${PF.name}": the PF's ` +
      "driver cannot set VF link state (Operation not supported)",
      "link_state needs a PF whose driver can set VF link state (mlx5_core); without link_state " +
      "the VF keeps its own",
    ],
  ] as const
) {
  Deno.test(`cmdAdd() says the PF's driver cannot set VF ${setting}, and what to do, leaving the VF as it was`, async () => {
    await using w = await world();
    w.kernel.setPfOptions(PF.pci, option);
    const before = w.kernel.view();
    const err = await assertRejectsCniError(
      cmdAdd(w.deps, request("ADD", netConf(1, { guid: GUID, link_state: "disable" }))),
      100,
      message,
    );
    assert.equal(err.details, details);
    assert.deepEqual(w.kernel.view(), before);
    assert.deepEqual(w.stateFiles(), []);
  });
}

for (const [kind, vfio] of [["netdev", false], ["vfio-pci", true]] as const) {
  Deno.test(`cmdAdd() of a ${kind} VF restores the node GUID the kernel set before refusing the port GUID`, async () => {
    await using w = await world();
    if (vfio) w.kernel.setDriver(VFS[1]!.pci, "vfio-pci");
    const before = w.kernel.view();
    w.kernel.refuseNextPortGuid("EIO");
    const conf = netConf(1, {
      guid: GUID,
      ...(vfio ? { vfioPciMode: true, ipam: undefined } : {}),
    });
    const err = await assertRejectsCniError(
      cmdAdd(w.deps, request("ADD", conf)),
      101,
      `Cannot set the node and port GUID of VF 1 to "${GUID}" through PF "${PF.name}": EIO`,
    );
    assert.equal(err.details, "");
    assert.deepEqual(w.kernel.view(), before);
    assert.deepEqual(w.stateFiles(), []);
  });
}

Deno.test("cmdAdd() finds the VF's netdev again after udev renames it and after a slow probe", async () => {
  await using w = await world();
  const before = w.kernel.view();
  w.kernel.setUdevRename("persistent");
  w.kernel.setProbeTiming({ netdevDelayMs: 40, udevDelayMs: 15 });
  await cmdAdd(w.deps, request("ADD", FULL));
  assert.equal(w.kernel.vfView(VFS[1]!.pci).netdev, "net1");
  assert.ok(w.kernel.now >= 40, `waited ${w.kernel.now} ms`);
  await cmdDel(w.deps, request("DEL", FULL));
  assert.deepEqual(w.kernel.view(), before);
});

Deno.test("cmdAdd() gives up on a netdev that never comes back, and DEL finishes the restore", async () => {
  await using w = await world();
  const before = w.kernel.view();
  w.kernel.setProbeTiming({ netdevDelayMs: Infinity });
  const err = await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", netConf(1, { guid: GUID }))),
    101,
    /^VF "0000:3b:00\.2" has no netdev in the host \d+ ms after its driver was bound$/,
  );
  // The undo rebinds too, and its netdev never comes back either: the record stays for DEL.
  assert.match(err.details, /rollback incomplete: restore the GUIDs of VF 1; DEL will retry/);
  assert.equal(w.store.readAttachment(KEY)?.phase, "adding");
  w.kernel.setProbeTiming({ netdevDelayMs: 0 });
  await cmdDel(w.deps, request("DEL", netConf(1, { guid: GUID })));
  assert.deepEqual(w.kernel.view(), before);
  assert.deepEqual(w.stateFiles(), []);
});

/** The whole message of ADD's error when its step N (1-based) fails, for {@link FULL}. */
const FULL_STEP_ERRORS = [
  'Cannot set the link state of VF 1 to "enable" through PF "ibp59s0f0": injected fault at step 1',
  'Cannot set the node and port GUID of VF 1 to "02:00:00:00:00:0a:00:01" through PF ' +
  '"ibp59s0f0": injected fault at step 2',
  'Cannot unbind VF "0000:3b:00.2" from "mlx5_core": injected fault at step 3',
  'Cannot bind VF "0000:3b:00.2" to "mlx5_core": injected fault at step 4',
  'Cannot move RDMA device "mlx5_4" from the host netns to netns "/var/run/netns/pod-a": ' +
  "injected fault at step 5",
  'Cannot move link "ib0" from the host netns to netns "/var/run/netns/pod-a" as "net1": ' +
  "injected fault at step 6",
  ...podStepErrors(7),
];
/** The same for {@link RDMA_ONLY}. */
const RDMA_ONLY_STEP_ERRORS = [
  'Cannot move RDMA device "mlx5_2" from the host netns to netns "/var/run/netns/pod-a": ' +
  "injected fault at step 1",
  'Cannot move link "ib0" from the host netns to netns "/var/run/netns/pod-a" as "net1": ' +
  "injected fault at step 2",
  ...podStepErrors(3),
];

for (
  const [name, conf, stepErrors] of [
    ["every InfiniBand step", FULL, FULL_STEP_ERRORS],
    ["RDMA isolation alone", RDMA_ONLY, RDMA_ONLY_STEP_ERRORS],
  ] as const
) {
  Deno.test(`cmdAdd() with ${name} leaves the node as it was when any step fails`, async () => {
    let steps: number;
    {
      await using w = await world();
      await cmdAdd(w.deps, request("ADD", conf));
      steps = w.faults.count;
    }
    assert.equal(steps, stepErrors.length, `ADD's mutating steps`);
    for (let n = 1; n <= steps; n++) await assertAddUndoneAt(world, conf, n, stepErrors[n - 1]);
  });
}

Deno.test("cmdAdd() with any undo step failing too keeps the record, and DEL completes the cleanup", async () => {
  let steps: number;
  {
    await using w = await world();
    await cmdAdd(w.deps, request("ADD", FULL));
    steps = w.faults.count;
  }
  let pairs = 0;
  for (let n = 1; n <= steps; n++) {
    // How many mutating steps the rollback of a failure at step n takes.
    let undoSteps: number;
    {
      await using w = await world();
      w.faults.failAt = n;
      await assert.rejects(cmdAdd(w.deps, request("ADD", FULL)), CniError);
      undoSteps = w.faults.count - n;
    }
    for (let k = n + 1; k <= n + undoSteps; k++) {
      await using w = await world();
      const before = w.kernel.view();
      w.faults.failAt = [n, k];
      const err = await cmdAdd(w.deps, request("ADD", FULL)).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof CniError, `steps ${n}+${k}: ${String(err)}`);
      assert.match(err.details, /rollback incomplete: .*; DEL will retry/, `steps ${n}+${k}`);
      w.faults.failAt = 0;
      await cmdDel(w.deps, request("DEL", FULL));
      const at = `after failing steps ${n} (${w.faults.log[n - 1]}) and ${k} (${
        w.faults.log[k - 1]
      })`;
      assert.deepEqual(w.kernel.view(), before, at);
      assert.deepEqual(w.stateFiles(), [], `state ${at}`);
      assert.equal(w.ipam.leases.size, 0, `lease ${at}`);
      pairs++;
    }
  }
  assert.ok(pairs >= 50, `only ${pairs} ADD step + undo step pairs`);
});

Deno.test("cmdDel() that fails at any step completes on the retry", async () => {
  let steps: number;
  {
    await using w = await world();
    await cmdAdd(w.deps, request("ADD", FULL));
    const at = w.faults.count;
    await cmdDel(w.deps, request("DEL", FULL));
    steps = w.faults.count - at;
  }
  for (let n = 1; n <= steps; n++) {
    await using w = await world();
    const before = w.kernel.view();
    await cmdAdd(w.deps, request("ADD", FULL));
    w.faults.failAt = w.faults.count + n;
    const err = await cmdDel(w.deps, request("DEL", FULL)).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof CniError && err.code === 101, `DEL step ${n}: ${String(err)}`);
    assert.match(err.message, /injected fault/);
    w.faults.failAt = 0;
    await cmdDel(w.deps, request("DEL", FULL));
    assert.deepEqual(w.kernel.view(), before, `after failing DEL step ${n}`);
    assert.deepEqual(w.stateFiles(), [], `state after failing DEL step ${n}`);
  }
});

Deno.test("cmdDel() succeeds once the VF is gone (SR-IOV disabled), and releases everything", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", FULL));
  w.kernel.removeVf(VFS[1]!.pci);
  await cmdDel(w.deps, request("DEL", FULL));
  assert.deepEqual(w.stateFiles(), []);
  assert.equal(w.ipam.leases.size, 0);
  assert.ok(
    w.logs.some((l) => JSON.parse(l).msg === "the device no longer exists; nothing to restore"),
  );
  await cmdDel(w.deps, request("DEL", FULL));
});

Deno.test("cmdDel() restores the VF after the pod's netns died", async () => {
  await using w = await world();
  const before = w.kernel.view();
  await cmdAdd(w.deps, request("ADD", FULL));
  w.kernel.deleteNetns(POD);
  await cmdDel(w.deps, request("DEL", FULL));
  w.kernel.addNetns(POD);
  assert.deepEqual(w.kernel.view(), before);
  assert.deepEqual(w.stateFiles(), []);
});

Deno.test("cmdAdd() refuses rdmaIsolation when the RDMA subsystem is shared or absent, saying what to change", async () => {
  await using w = await world();
  const before = w.kernel.view();
  w.kernel.setRdmaMode("shared");
  const shared = await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", FULL)),
    101,
    `rdmaIsolation is true but the RDMA subsystem's netns mode is "shared", not "exclusive"`,
  );
  assert.match(shared.details, /rdma system set netns exclusive.*netns_mode=0/);
  w.kernel.setRdmaMode("unsupported");
  await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", FULL)),
    101,
    "rdmaIsolation is true but the kernel has no RDMA netlink (NETLINK_RDMA is not a supported " +
      "protocol); load the ib_core module (modprobe ib_core)",
  );
  assert.equal(w.faults.count, 0);
  assert.deepEqual(w.kernel.view(), before);
});

Deno.test("cmdAdd() gives a vfio-pci VF its GUID without rebind, netdev or IPAM; DEL restores it", async () => {
  await using w = await world();
  w.kernel.setDriver(VFS[0]!.pci, "vfio-pci");
  const before = w.kernel.view();
  const result = await cmdAdd(w.deps, request("ADD", netConf(0, { guid: GUID })));
  assert.deepEqual(result.interfaces, [{ name: "net1", sandbox: POD, pciID: VFS[0]!.pci }]);
  assert.deepEqual(result.ips, []);
  assert.equal(w.ipam.calls.length, 0);
  const vf = w.kernel.vfView(VFS[0]!.pci);
  assert.equal(vf.nodeGuid, GUID);
  assert.equal(vf.driver, "vfio-pci");
  assert.equal(w.faults.log.some((step) => /bind/.test(step)), false);
  assert.equal(w.store.readAttachment(KEY)!.kind, "vfio-vf");
  await cmdDel(w.deps, request("DEL", netConf(0, { guid: GUID })));
  assert.deepEqual(w.kernel.view(), before);
  assert.equal(w.ipam.calls.length, 0);
  assert.deepEqual(w.stateFiles(), []);
});

Deno.test("cmdAdd() passes a vfio-pci PF through and refuses vfioPciMode on a device bound elsewhere", async () => {
  await using w = await world();
  w.kernel.addPlainPci("0000:5e:00.0", "vfio-pci");
  const pf = { ...netConf(1), deviceID: "0000:5e:00.0" };
  const result = await cmdAdd(w.deps, request("ADD", pf));
  assert.deepEqual(result.interfaces, [{ name: "net1", sandbox: POD, pciID: "0000:5e:00.0" }]);
  assert.equal(w.store.readAttachment(KEY)!.kind, "vfio-pf");
  await cmdDel(w.deps, request("DEL", pf));
  assert.deepEqual(w.stateFiles(), []);
  await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", netConf(1, { vfioPciMode: true }))),
    100,
    `vfioPciMode is true but deviceID "${VFS[1]!.pci}" is bound to "mlx5_core", not "vfio-pci"`,
  );
});

Deno.test("cmdAdd() with ib-kubernetes attaches once configured, with the pkey in the record and the logs", async () => {
  await using w = await world();
  const conf = netConf(1, {
    ibKubernetesEnabled: true,
    pkey: "0x8001",
    args: { cni: { "mellanox.infiniband.app": "configured", guid: GUID } },
  });
  await cmdAdd(w.deps, request("ADD", conf));
  assert.equal(w.kernel.vfView(VFS[1]!.pci).nodeGuid, GUID);
  assert.equal(w.store.readAttachment(KEY)!.pkey, "0x8001");
  assert.ok(w.logs.some((l) => JSON.parse(l).pkey === "0x8001"));
});

Deno.test("cmdCheck() fails when the VF's GUID or RDMA device is no longer what ADD set", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", FULL));
  await cmdCheck(w.deps, request("CHECK", FULL));
  using host = w.kernel.hostNetns();
  const pf = w.kernel.linkByName(host, PF.name)!;
  w.kernel.setVf(host, pf.index, 1, { nodeGuid: "02:00:00:00:00:0b:00:01" });
  await assertRejectsCniError(
    cmdCheck(w.deps, request("CHECK", FULL)),
    104,
    `VF 1 of PF "${PF.name}" has node GUID "02:00:00:00:00:0b:00:01", not "${GUID}"`,
  );
  w.kernel.setVf(host, pf.index, 1, { nodeGuid: GUID });
  using pod = w.kernel.openNetns(POD);
  const [rdma] = w.kernel.rdmaIn(POD);
  w.kernel.moveDevice(pod, rdma!, host);
  await assertRejectsCniError(
    cmdCheck(w.deps, request("CHECK", FULL)),
    104,
    `RDMA device "${rdma}" is missing from netns "${POD}"`,
  );
  assert.equal(w.kernel.linksIn(HOST_NETNS).has("net1"), false);
});

Deno.test("cmdGc() releases a stale attachment's lease and restores its VF after its netns died", async () => {
  await using w = await world();
  const before = w.kernel.view();
  await cmdAdd(w.deps, request("ADD", netConf(0), { containerId: "keep" }));
  const keep = w.kernel.view();
  await cmdAdd(w.deps, request("ADD", FULL, { containerId: "stale", netns: POD_B }));
  w.kernel.deleteNetns(POD_B);
  const gc = netConf(0, {
    cniVersion: "1.1.0",
    "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "net1" }],
  });
  await cmdGc(
    w.deps,
    request("GC", gc, { containerId: "", ifname: "", netns: "", cniVersion: "1.1.0" }),
  );
  w.kernel.addNetns(POD_B);
  assert.deepEqual(w.kernel.vfView(VFS[1]!.pci), before.vfs[VFS[1]!.pci]);
  assert.deepEqual(w.kernel.view(), keep);
  assert.deepEqual([...w.ipam.leases.keys()].map((k) => k.split("/")[0]), ["keep"]);
  const dels = w.ipam.calls.filter((c) => c.command === "DEL");
  assert.deepEqual(dels.map((c) => [c.env.CNI_CONTAINERID, c.env.CNI_NETNS]), [["stale", POD_B]]);
  assert.equal(w.store.readAttachment({ containerId: "stale", ifname: "net1" }), null);
});

Deno.test("cmdStatus() reports code 50 for rdmaIsolation when the RDMA subsystem is not exclusive", async () => {
  await using w = await world();
  const conf = netConf(1, { cniVersion: "1.1.0", rdmaIsolation: true });
  await cmdStatus(w.deps, request("STATUS", conf, { cniVersion: "1.1.0" }));
  w.kernel.setRdmaMode("shared");
  await assertRejectsCniError(
    cmdStatus(w.deps, request("STATUS", conf, { cniVersion: "1.1.0" })),
    50,
    `rdmaIsolation is true but the RDMA subsystem's netns mode is "shared", not "exclusive"`,
  );
  await cmdStatus(
    w.deps,
    request("STATUS", { ...conf, rdmaIsolation: false }, { cniVersion: "1.1.0" }),
  );
});

/** The warning of a PF whose VF list the kernel cannot send (EMSGSIZE), as the log has it. */
function vfListWarnings(logs: string[]): Record<string, unknown>[] {
  return logs.map((l) => JSON.parse(l)).filter((r) => r.level === "warning").map((
    { time: _time, ...r },
  ) => r);
}

const VF_LIST_WARNING = {
  level: "warning",
  msg:
    "the kernel cannot send the PF's VF list; the VF's GUID comes from sysfs, its link state is unknown",
  pf: PF.name,
  vf: 1,
  error: "Unspecific failure (EMSGSIZE)",
};

Deno.test("cmdAdd() and cmdDel() on a PF whose VF list the kernel cannot send (EMSGSIZE) restore the VF from sysfs", async () => {
  await using w = await world();
  using host = w.kernel.hostNetns();
  const pf = w.kernel.linkByName(host, PF.name)!.index;
  w.kernel.setVf(host, pf, 1, { linkState: "disable" });
  const before = w.kernel.view();
  w.kernel.setPfOptions(PF.pci, { vfListTooLarge: true });
  await cmdAdd(w.deps, request("ADD", FULL));
  const vf = w.kernel.vfView(VFS[1]!.pci);
  assert.deepEqual([vf.nodeGuid, vf.portGuid, vf.linkState], [GUID, GUID, "enable"]);
  const original = before.vfs[VFS[1]!.pci]!;
  // The GUIDs the VF's driver probed; the link state, unknown, goes back to auto.
  assert.deepEqual(w.store.readAttachment(KEY)!.original, {
    nodeGuid: original.nodeGuid,
    portGuid: original.portGuid,
    linkState: "auto",
  });
  const records = vfListWarnings(w.logs);
  assert.equal(records.length, 1);
  assert.deepEqual(records[0], { ...records[0], ...VF_LIST_WARNING });
  await cmdDel(w.deps, request("DEL", FULL));
  assert.deepEqual(w.kernel.view(), {
    ...before,
    vfs: { ...before.vfs, [VFS[1]!.pci]: { ...original, linkState: "auto" } },
  });
  assert.deepEqual(w.stateFiles(), []);
});

Deno.test("cmdCheck() on a PF whose VF list the kernel cannot send checks the GUID from sysfs, and warns", async () => {
  await using w = await world();
  const conf = netConf(1, { guid: GUID, link_state: "enable" });
  await cmdAdd(w.deps, request("ADD", conf));
  w.kernel.setPfOptions(PF.pci, { vfListTooLarge: true });
  await cmdCheck(w.deps, request("CHECK", conf));
  const records = vfListWarnings(w.logs);
  assert.equal(records.length, 1);
  assert.deepEqual(records[0], { ...records[0], ...VF_LIST_WARNING, command: "CHECK" });
  // The GUID the VF's RDMA device has, as sysfs shows it.
  w.kernel.setBootGuids(VFS[1]!.pci, { nodeGuid: "02:00:00:00:00:0b:00:01" });
  await assertRejectsCniError(
    cmdCheck(w.deps, request("CHECK", conf)),
    104,
    `VF 1 of PF "${PF.name}" has node GUID "02:00:00:00:00:0b:00:01", not "${GUID}"`,
  );
});
