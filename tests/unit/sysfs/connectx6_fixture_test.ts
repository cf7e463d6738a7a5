import assert from "node:assert/strict";
import { LibcSysfs } from "../../../lib/sysfs/mod.ts";
import { buildSysfsTree } from "../../fakes/sysfs_tree.ts";
import { connectx6Fixture } from "../../fixtures/sysfs/connectx6.ts";

Deno.test("connectx6Fixture() places 4 VFs at 3b:00.1..3b:00.4 with realistic names", () => {
  const { pfs } = connectx6Fixture({ vfs: 4 });
  assert.equal(pfs.length, 1);
  const [pf] = pfs;
  assert.ok(pf !== undefined);
  assert.deepEqual(
    { pci: pf.pci, netdev: pf.netdev, rdmaDevice: pf.rdmaDevice },
    { pci: "0000:3b:00.0", netdev: "ibp59s0f0", rdmaDevice: "mlx5_0" },
  );
  assert.deepEqual(pf.vfs.map((vf) => [vf.pci, vf.index, vf.netdev, vf.rdmaDevice]), [
    ["0000:3b:00.1", 0, "ibp59s0f1", "mlx5_1"],
    ["0000:3b:00.2", 1, "ibp59s0f2", "mlx5_2"],
    ["0000:3b:00.3", 2, "ibp59s0f3", "mlx5_3"],
    ["0000:3b:00.4", 3, "ibp59s0f4", "mlx5_4"],
  ]);
});

Deno.test("connectx6Fixture() spreads 1024 VFs over 8 PFs on buses of their own", () => {
  const { pfs } = connectx6Fixture({ vfs: 1024, pfs: 8 });
  assert.deepEqual(pfs.map((pf) => pf.pci), [
    "0000:3b:00.0",
    "0000:3c:00.0",
    "0000:3d:00.0",
    "0000:3e:00.0",
    "0000:3f:00.0",
    "0000:40:00.0",
    "0000:41:00.0",
    "0000:42:00.0",
  ]);
  assert.deepEqual(pfs.map((pf) => pf.vfs.length), [128, 128, 128, 128, 128, 128, 128, 128]);
  assert.equal(pfs[0]?.vfs[7]?.pci, "0000:3b:01.0");
  assert.equal(pfs[7]?.vfs[127]?.pci, "0000:42:10.0");
  assert.equal(pfs[7]?.vfs[127]?.rdmaDevice, "mlx5_1031");
  const all = pfs.flatMap((pf) => pf.vfs.map((vf) => vf.pci));
  assert.equal(new Set(all).size, 1024);
});

Deno.test("connectx6Fixture() gives the first PFs the remainder", () => {
  const { pfs } = connectx6Fixture({ vfs: 5, pfs: 2 });
  assert.deepEqual(pfs.map((pf) => pf.vfs.map((vf) => vf.pci)), [
    ["0000:3b:00.1", "0000:3b:00.2", "0000:3b:00.3"],
    ["0000:3c:00.1", "0000:3c:00.2"],
  ]);
});

Deno.test("connectx6Fixture() uses the VF netdev names it is given, in VF order", () => {
  const { pfs } = connectx6Fixture({ vfs: 3, pfs: 2, vfNetdevs: ["veth-a", "veth-b", "veth-c"] });
  assert.deepEqual(pfs.map((pf) => pf.vfs.map((vf) => vf.netdev)), [
    ["veth-a", "veth-b"],
    ["veth-c"],
  ]);
});

Deno.test("connectx6Fixture() rejects counts out of range", () => {
  assert.throws(() => connectx6Fixture({ vfs: 1025 }), {
    name: "RangeError",
    message: "vfs must be 0 to 1024, got 1025",
  });
  assert.throws(() => connectx6Fixture({ vfs: 4, pfs: 9 }), {
    name: "RangeError",
    message: "pfs must be 1 to 8, got 9",
  });
  assert.throws(() => connectx6Fixture({ vfs: 2, vfNetdevs: ["a"] }), {
    name: "RangeError",
    message: "vfNetdevs must name 2 netdevs, got 1",
  });
});

Deno.test("buildSysfsTree() of 1024 VFs on one PF reads back through LibcSysfs", async () => {
  const fixture = connectx6Fixture({ vfs: 1024 });
  const tree = await buildSysfsTree(fixture.spec);
  try {
    const sysfs = new LibcSysfs({ root: tree.root });
    const pf = fixture.pfs[0];
    assert.ok(pf !== undefined);
    assert.equal(sysfs.driver(pf.pci), "mlx5_core");
    assert.deepEqual(sysfs.netdevs(pf.pci), [pf.netdev]);
    assert.deepEqual(sysfs.rdmaDevices(pf.pci), [pf.rdmaDevice]);
    // The last VFs sit on the buses after the PF's (3b:00.0 + 1 + 1023 = 3f:00.0).
    assert.equal(pf.vfs[1023]?.pci, "0000:3f:00.0");
    for (const vf of pf.vfs) {
      assert.equal(sysfs.physfn(vf.pci), pf.pci);
      assert.equal(sysfs.vfIndex(pf.pci, vf.pci), vf.index);
      assert.deepEqual(sysfs.netdevs(vf.pci), [vf.netdev]);
      assert.equal(sysfs.driver(vf.pci), "mlx5_core");
      assert.equal(sysfs.rdmaNodeGuid(vf.pci, vf.rdmaDevice), vf.nodeGuid);
    }
  } finally {
    await tree.cleanup();
  }
});

Deno.test("buildSysfsTree() cleanup() removes the tree", async () => {
  const tree = await buildSysfsTree(connectx6Fixture({ vfs: 1 }).spec);
  await tree.cleanup();
  await assert.rejects(Deno.lstat(tree.root), Deno.errors.NotFound);
});
