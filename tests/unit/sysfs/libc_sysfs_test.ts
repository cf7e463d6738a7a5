import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { LibcError } from "../../../ffi/errno.ts";
import { lstatExists, readDir, readlink } from "../../../ffi/sysfs_libc.ts";
import { LibcSysfs, SysfsError } from "../../../lib/sysfs/mod.ts";
import { buildSysfsTree, PCI_DEVICES_DIR, type SysfsTreeSpec } from "../../fakes/sysfs_tree.ts";
import { connectx6Fixture } from "../../fixtures/sysfs/connectx6.ts";
import { upstreamFixture } from "../../fixtures/sysfs/upstream.ts";

const PF = "0000:3b:00.0";
const CX6 = connectx6Fixture({ vfs: 4 });

/** Runs `fn` over a LibcSysfs rooted at a tree built from `spec`. */
async function withSysfs(
  spec: SysfsTreeSpec,
  fn: (sysfs: LibcSysfs, root: string) => void,
): Promise<void> {
  const tree = await buildSysfsTree(spec);
  try {
    fn(new LibcSysfs({ root: tree.root }), tree.root);
  } finally {
    await tree.cleanup();
  }
}

/** `spec` with one device's files, links or dirs replaced. */
function patchDevice(
  spec: SysfsTreeSpec,
  pci: string,
  patch: (node: NonNullable<SysfsTreeSpec["devices"][string]>) => SysfsTreeSpec["devices"][string],
): SysfsTreeSpec {
  const node = spec.devices[pci];
  assert.ok(node !== undefined, `fixture has no ${pci}`);
  return { ...spec, devices: { ...spec.devices, [pci]: patch(node) } };
}

/** Asserts that `fn` throws a SysfsError with this code, path and message. */
function assertSysfsError(
  fn: () => unknown,
  expected: { code: string; path: string; message: string },
  label = "",
): SysfsError {
  let caught: unknown;
  assert.throws(fn, (error: unknown) => {
    caught = error;
    return error instanceof SysfsError;
  }, label);
  assert.ok(caught instanceof SysfsError);
  assert.deepEqual(
    {
      name: caught.name,
      code: caught.code,
      path: caught.path,
      message: caught.message,
    },
    { name: "SysfsError", ...expected },
    label,
  );
  return caught;
}

Deno.test("LibcSysfs.deviceExists() is true for the PF and VFs and false otherwise", async () => {
  await withSysfs(CX6.spec, (sysfs) => {
    assert.equal(sysfs.deviceExists(PF), true);
    assert.equal(sysfs.deviceExists("0000:3b:00.4"), true);
    assert.equal(sysfs.deviceExists("0000:3b:00.5"), false);
  });
});

Deno.test("LibcSysfs.deviceExists() is false for a dangling device link", async () => {
  const spec = {
    ...CX6.spec,
    other: { links: { [`${PCI_DEVICES_DIR}/0000:d8:00.0`]: "../../../devices/gone" } },
  };
  await withSysfs(spec, (sysfs) => {
    assert.equal(sysfs.deviceExists("0000:d8:00.0"), false);
  });
});

Deno.test("LibcSysfs.deviceExists() follows a device link to its directory", async () => {
  const spec = {
    devices: {},
    other: {
      dirs: ["sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0"],
      links: {
        [`${PCI_DEVICES_DIR}/0000:3b:00.0`]:
          "../../../devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0",
      },
    },
  };
  await withSysfs(spec, (sysfs) => {
    assert.equal(sysfs.deviceExists(PF), true);
  });
});

Deno.test("LibcSysfs.physfn() returns the PF of a VF and null for a PF or absent device", async () => {
  await withSysfs(CX6.spec, (sysfs) => {
    for (const vf of ["0000:3b:00.1", "0000:3b:00.2", "0000:3b:00.3", "0000:3b:00.4"]) {
      assert.equal(sysfs.physfn(vf), PF);
    }
    assert.equal(sysfs.physfn(PF), null);
    assert.equal(sysfs.physfn("0000:3b:00.5"), null);
  });
});

Deno.test("LibcSysfs.physfn() throws SysfsError io when physfn is no link", async () => {
  const spec = patchDevice(CX6.spec, "0000:3b:00.1", (node) => ({
    ...node,
    links: {},
    files: { ...node.files, physfn: "" },
  }));
  await withSysfs(spec, (sysfs, root) => {
    const path = join(root, PCI_DEVICES_DIR, "0000:3b:00.1", "physfn");
    const error = assertSysfsError(() => sysfs.physfn("0000:3b:00.1"), {
      code: "io",
      path,
      message: "Invalid argument",
    });
    assert.ok(error.cause instanceof LibcError);
    assert.equal(error.cause.errnoName, "EINVAL");
  });
});

Deno.test("LibcSysfs.vfIndex() finds each VF of a ConnectX-6 PF", async () => {
  await withSysfs(CX6.spec, (sysfs) => {
    assert.equal(sysfs.vfIndex(PF, "0000:3b:00.1"), 0);
    assert.equal(sysfs.vfIndex(PF, "0000:3b:00.2"), 1);
    assert.equal(sysfs.vfIndex(PF, "0000:3b:00.3"), 2);
    assert.equal(sysfs.vfIndex(PF, "0000:3b:00.4"), 3);
  });
});

Deno.test("LibcSysfs.vfIndex() is null for a device that is no VF of the PF", async () => {
  await withSysfs(CX6.spec, (sysfs) => {
    assert.equal(sysfs.vfIndex(PF, "0000:3b:00.5"), null);
    assert.equal(sysfs.vfIndex(PF, PF), null);
    assert.equal(sysfs.vfIndex(PF, "0001:3b:00.1"), null);
    assert.equal(sysfs.vfIndex("0000:3b:00.1", "0000:3b:00.2"), null);
    assert.equal(sysfs.vfIndex("0000:5e:00.0", "0000:5e:00.1"), null);
  });
});

Deno.test("LibcSysfs.vfIndex() reads only the computed virtfnN link", async () => {
  // virtfn0..2 are files, not links: reading any of them would throw SysfsError.
  const spec = patchDevice(CX6.spec, PF, (node) => ({
    ...node,
    links: { driver: "../../drivers/mlx5_core", virtfn3: "../0000:3b:00.4" },
    files: { ...node.files, virtfn0: "", virtfn1: "", virtfn2: "" },
  }));
  await withSysfs(spec, (sysfs) => {
    assert.equal(sysfs.vfIndex(PF, "0000:3b:00.4"), 3);
  });
});

Deno.test("LibcSysfs.vfIndex() scans virtfnN when the computed index is wrong", async () => {
  // Upstream fixture: sriov_offset 2 predicts virtfn45 for af:06.0, which does not exist.
  await withSysfs(upstreamFixture(), (sysfs) => {
    assert.equal(sysfs.vfIndex("0000:af:00.1", "0000:af:06.0"), 0);
    assert.equal(sysfs.vfIndex("0000:af:00.1", "0000:af:06.1"), 1);
    assert.equal(sysfs.vfIndex("0000:af:00.1", "0000:af:07.0"), null);
    assert.equal(sysfs.vfIndex("0000:05:00.0", "0000:af:06.0"), null);
  });
});

Deno.test("LibcSysfs.vfIndex() scans virtfnN when sriov_offset and sriov_stride are absent", async () => {
  const spec = patchDevice(upstreamFixture(), "0000:af:00.1", (node) => ({
    ...node,
    files: { sriov_numvfs: "2\n" },
  }));
  await withSysfs(spec, (sysfs) => {
    assert.equal(sysfs.vfIndex("0000:af:00.1", "0000:af:06.0"), 0);
    assert.equal(sysfs.vfIndex("0000:af:00.1", "0000:af:06.1"), 1);
  });
});

Deno.test("LibcSysfs.vfIndex() scans virtfnN when the computed link points elsewhere", async () => {
  // virtfn0 and virtfn1 swapped: the computed index finds the other VF.
  const spec = patchDevice(CX6.spec, PF, (node) => ({
    ...node,
    links: { ...node.links, virtfn0: "../0000:3b:00.2", virtfn1: "../0000:3b:00.1" },
  }));
  await withSysfs(spec, (sysfs) => {
    assert.equal(sysfs.vfIndex(PF, "0000:3b:00.1"), 1);
    assert.equal(sysfs.vfIndex(PF, "0000:3b:00.2"), 0);
  });
});

Deno.test("LibcSysfs.vfIndex() throws SysfsError corrupt for a non-numeric sriov file", async () => {
  const spec = patchDevice(CX6.spec, PF, (node) => ({
    ...node,
    files: { ...node.files, sriov_stride: "one\n" },
  }));
  await withSysfs(spec, (sysfs, root) => {
    const path = join(root, PCI_DEVICES_DIR, PF, "sriov_stride");
    assertSysfsError(() => sysfs.vfIndex(PF, "0000:3b:00.1"), {
      code: "corrupt",
      path,
      message: 'expected a number in "sriov_stride", found "one"',
    });
  });
});

Deno.test("LibcSysfs.netdevs() lists net/ sorted and is empty without net/", async () => {
  await withSysfs(upstreamFixture(), (sysfs) => {
    assert.deepEqual(sysfs.netdevs("0000:05:00.0"), ["ib3", "ib4"]);
    assert.deepEqual(sysfs.netdevs("0000:af:06.0"), ["ib1"]);
    assert.deepEqual(sysfs.netdevs("0000:af:07.0"), []);
  });
  await withSysfs(CX6.spec, (sysfs) => {
    assert.deepEqual(sysfs.netdevs(PF), ["ibp59s0f0"]);
    assert.deepEqual(sysfs.netdevs("0000:3b:00.2"), ["ibp59s0f2"]);
  });
});

Deno.test("LibcSysfs.driver() returns the driver name and null when unbound", async () => {
  await withSysfs(upstreamFixture(), (sysfs) => {
    assert.equal(sysfs.driver("0000:af:00.1"), "mlx5_core");
    assert.equal(sysfs.driver("0000:af:06.1"), "vfio-pci");
    assert.equal(sysfs.driver("0000:05:00.0"), null);
    assert.equal(sysfs.driver("0000:af:07.0"), null);
  });
});

Deno.test("LibcSysfs.rdmaDevices() lists infiniband/ sorted and is empty without it", async () => {
  const spec = patchDevice(CX6.spec, "0000:3b:00.1", (node) => ({
    ...node,
    dirs: [...(node.dirs ?? []), "infiniband/mlx5_10", "infiniband/mlx5_9"],
  }));
  await withSysfs(spec, (sysfs) => {
    assert.deepEqual(sysfs.rdmaDevices(PF), ["mlx5_0"]);
    assert.deepEqual(sysfs.rdmaDevices("0000:3b:00.1"), ["mlx5_1", "mlx5_10", "mlx5_9"]);
  });
  await withSysfs(upstreamFixture(), (sysfs) => {
    assert.deepEqual(sysfs.rdmaDevices("0000:af:06.0"), []);
  });
});

Deno.test("LibcSysfs.rdmaNodeGuid() returns the trimmed GUID and null when absent", async () => {
  await withSysfs(CX6.spec, (sysfs) => {
    assert.equal(sysfs.rdmaNodeGuid(PF, "mlx5_0"), "b8ce:f603:00a1:b200");
    assert.equal(sysfs.rdmaNodeGuid("0000:3b:00.4", "mlx5_4"), "0200:0000:0000:0004");
    assert.equal(sysfs.rdmaNodeGuid("0000:3b:00.4", "mlx5_0"), null);
    assert.equal(sysfs.rdmaNodeGuid("0000:3b:00.9", "mlx5_0"), null);
  });
});

Deno.test("LibcSysfs rejects PCI addresses that would leave the root", async () => {
  await withSysfs(CX6.spec, (sysfs) => {
    const calls: [string, (name: string) => unknown][] = [
      ["deviceExists", (name) => sysfs.deviceExists(name)],
      ["physfn", (name) => sysfs.physfn(name)],
      ["vfIndex(pf)", (name) => sysfs.vfIndex(name, "0000:3b:00.1")],
      ["vfIndex(vf)", (name) => sysfs.vfIndex(PF, name)],
      ["netdevs", (name) => sysfs.netdevs(name)],
      ["driver", (name) => sysfs.driver(name)],
      ["rdmaDevices", (name) => sysfs.rdmaDevices(name)],
      ["rdmaNodeGuid", (name) => sysfs.rdmaNodeGuid(name, "mlx5_0")],
    ];
    for (const bad of ["..", ".", "", "../0000:3b:00.0", "0000:3b:00.0/..", "a/b", "x\0y"]) {
      for (const [method, call] of calls) {
        assertSysfsError(() => call(bad), {
          code: "invalid-name",
          path: bad,
          message: "invalid PCI address",
        }, `${method} with ${JSON.stringify(bad)}`);
      }
    }
  });
});

Deno.test("LibcSysfs.rdmaNodeGuid() rejects an RDMA device name that would leave the root", async () => {
  await withSysfs(CX6.spec, (sysfs) => {
    for (const bad of ["..", "../mlx5_0", "mlx5_0/../../x", ""]) {
      assertSysfsError(() => sysfs.rdmaNodeGuid(PF, bad), {
        code: "invalid-name",
        path: bad,
        message: "invalid RDMA device name",
      });
    }
  });
});

Deno.test("LibcSysfs reads the real /sys with the default root", () => {
  const sysfs = new LibcSysfs();
  for (const pci of readDir("/sys/bus/pci/devices")) {
    assert.equal(sysfs.deviceExists(pci), true, pci);
    const driver = lstatExists(`/sys/bus/pci/devices/${pci}/driver`)
      ? basename(readlink(`/sys/bus/pci/devices/${pci}/driver`))
      : null;
    assert.equal(sysfs.driver(pci), driver, pci);
  }
  assert.equal(sysfs.deviceExists("0000:ff:1f.7"), false);
  assert.deepEqual(sysfs.netdevs("0000:ff:1f.7"), []);
});
