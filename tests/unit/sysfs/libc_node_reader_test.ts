import assert from "node:assert/strict";
import { join } from "node:path";
import { SysfsError } from "../../../lib/sysfs/sysfs_error.ts";
import { LibcNodeReader } from "../../../lib/sysfs/libc_node_reader.ts";
import { buildSysfsTree } from "../../fakes/sysfs_tree.ts";
import { buildNodeTree, NODE } from "../tool/_node_tree.ts";

Deno.test("LibcNodeReader reads the kernel release, the PCI devices, sriov_numvfs and virtfnN", async () => {
  const tree = await buildNodeTree();
  try {
    const node = new LibcNodeReader({ root: tree.root });
    assert.equal(node.kernelRelease(), "6.1.0-18-amd64");
    assert.deepEqual(node.pciDevices(), [
      "0000:3b:00.0",
      "0000:3b:00.1",
      "0000:3b:00.2",
      "0000:3b:00.3",
      "0000:3b:00.4",
      "0000:5e:00.0",
    ]);
    assert.equal(node.sriovNumVfs(NODE.pf), 4);
    assert.equal(node.sriovNumVfs(NODE.vfioPf), 0);
    assert.equal(node.sriovNumVfs(NODE.vf), null);
    assert.equal(node.virtfn(NODE.pf, 1), NODE.vf);
    assert.equal(node.virtfn(NODE.pf, 4), null);
  } finally {
    await tree.cleanup();
  }
});

Deno.test("LibcNodeReader answers absence with null and [] on an empty root", async () => {
  const root = await Deno.makeTempDir();
  try {
    const node = new LibcNodeReader({ root });
    assert.equal(node.kernelRelease(), null);
    assert.deepEqual(node.pciDevices(), []);
    assert.equal(node.sriovNumVfs("0000:00:00.0"), null);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LibcNodeReader.sriovNumVfs() throws SysfsError corrupt for a file that holds no number", async () => {
  const tree = await buildSysfsTree({
    devices: { "0000:01:00.0": { files: { sriov_numvfs: "many\n" } } },
  });
  try {
    const node = new LibcNodeReader({ root: tree.root });
    const path = join(tree.root, "sys/bus/pci/devices/0000:01:00.0/sriov_numvfs");
    assert.throws(() => node.sriovNumVfs("0000:01:00.0"), (err: unknown) => {
      assert.ok(err instanceof SysfsError);
      assert.equal(err.code, "corrupt");
      assert.equal(err.path, path);
      assert.equal(err.message, 'expected a number in "sriov_numvfs", found "many"');
      return true;
    });
  } finally {
    await tree.cleanup();
  }
});

Deno.test("LibcNodeReader refuses a PCI address that would leave the root", () => {
  const node = new LibcNodeReader({ root: "/nonexistent" });
  assert.throws(() => node.virtfn("../x", 0), (err: unknown) => {
    assert.ok(err instanceof SysfsError);
    assert.equal(err.code, "invalid-name");
    assert.equal(err.path, "../x");
    assert.equal(err.message, "invalid PCI address");
    return true;
  });
});
