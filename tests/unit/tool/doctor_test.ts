import assert from "node:assert/strict";
import { NetlinkError, NleCode } from "../../../lib/netlink/netlink.ts";
import { FileStore } from "../../../lib/state/file_store.ts";
import type { AttachmentRecord } from "../../../lib/state/store.ts";
import { type CheckResult, runChecks } from "../../../lib/tool/doctor.ts";
import { runTool } from "../../../lib/tool/main.ts";
import { buildNodeTree } from "./_node_tree.ts";
import { fakeRdma, testIo } from "./_tool_io.ts";

const tree = await buildNodeTree();
Deno.test.afterAll(() => tree.cleanup());

function record(containerId: string, netns: string): AttachmentRecord {
  return {
    kind: "vf",
    version: 1,
    phase: "attached",
    containerId,
    ifname: "net1",
    netns,
    networkName: "ib-net",
    cniVersion: "1.0.0",
    deviceId: "0000:3b:00.2",
  };
}

function byCheck(results: CheckResult[]): Record<string, [string, string]> {
  return Object.fromEntries(results.map((r) => [r.check, [r.status, r.message]]));
}

Deno.test("runChecks() on the recorded ConnectX-6 node: every check, in order", async () => {
  const cacheDir = await Deno.makeTempDir();
  try {
    using store = new FileStore({ cacheDir, runDir: cacheDir });
    store.writeAttachment(record("alive", "/var/run/netns/alive"));
    store.writeAttachment(record("dead", "/var/run/netns/dead"));
    const t = testIo({
      store: () => store,
      netnsExists: (path) => path === "/var/run/netns/alive",
    });
    const results = await runChecks(t.io, { root: tree.root, rdma: false });
    assert.deepEqual(results.map((r) => [r.check, r.status]), [
      ["libnl", "ok"],
      ["kernel", "ok"],
      ["RDMA netns", "ok"],
      ["SR-IOV PF 0000:3b:00.0", "ok"],
      ["VF GUIDs", "warning"],
      ["state directory", "ok"],
      ["cache", "warning"],
    ]);
    const found = byCheck(results);
    assert.equal(found["kernel"]![1], "6.1.0-18-amd64 (5.6 or later: VF GUIDs and RDMA netns)");
    assert.equal(
      found["SR-IOV PF 0000:3b:00.0"]![1],
      "mlx5_core, ibp59s0f0: 4 VFs (3 mlx5_core, 1 vfio-pci)",
    );
    assert.equal(
      found["VF GUIDs"]![1],
      "1 VF has no GUID: 0000:3b:00.3 (VF 2, 00:00:00:00:00:00:00:00); ADD fails on them " +
        "unless the config gives one",
    );
    assert.equal(
      found["cache"]![1],
      "1 of 2 attachment records name a netns that is gone: dead/net1 (0000:3b:00.2, netns " +
        "/var/run/netns/dead)",
    );
    assert.match(results[4]!.fix!, /ip link set <pf> vf <n> node_guid <guid> port_guid <guid>$/);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("runTool() doctor prints each check with its fix and exits 0 without failures", async () => {
  const t = testIo({ rdma: () => fakeRdma("shared") });
  const status = await runTool(["doctor", "--sysfs-root", tree.root], t.io);
  const lines = t.stdout().split("\n");
  assert.equal(lines[0], "ok       libnl: libnl-3.so.200 and libnl-route-3.so.200 load");
  assert.equal(
    lines[2],
    "warning  RDMA netns: mode is shared: every namespace sees every RDMA device (needed only " +
      "for rdmaIsolation)",
  );
  assert.equal(
    lines[3],
    "         fix: rdma system set netns exclusive, with no pod running; to keep it across " +
      "reboots: options ib_core netns_mode=0 in /etc/modprobe.d/",
  );
  assert.equal(lines.at(-2), "5 ok, 2 warnings, 0 failures");
  assert.equal(status, 0);
});

Deno.test("runTool() doctor --rdma fails a node whose RDMA netns mode is shared or unsupported", async () => {
  const unsupported = new NetlinkError(
    NleCode.ProtoMismatch,
    "the kernel has no RDMA netlink (NETLINK_RDMA is not a supported protocol); load " +
      "the ib_core module (modprobe ib_core)",
  );
  for (const rdma of [fakeRdma("shared"), fakeRdma(unsupported)]) {
    const t = testIo({ rdma: () => rdma });
    assert.equal(await runTool(["doctor", "--rdma", "--sysfs-root", tree.root, "--json"], t.io), 1);
    const results: CheckResult[] = JSON.parse(t.stdout());
    const check = results.find((r) => r.check === "RDMA netns")!;
    assert.equal(check.status, "failure");
    assert.ok(check.fix !== undefined);
  }
  const t = testIo({ rdma: () => fakeRdma(unsupported) });
  assert.equal(await runTool(["doctor", "--sysfs-root", tree.root, "--json"], t.io), 0);
  const check = (JSON.parse(t.stdout()) as CheckResult[]).find((r) => r.check === "RDMA netns")!;
  assert.deepEqual(check, {
    check: "RDMA netns",
    status: "warning",
    message: "the kernel has no RDMA netlink (NETLINK_RDMA is not a supported protocol); load " +
      "the ib_core module (modprobe ib_core) (needed only for rdmaIsolation)",
    fix: "load the InfiniBand core: modprobe ib_core (the mlx5_ib driver loads it)",
  });
});

Deno.test("runChecks() fails on missing libnl, an old kernel and a state directory it cannot write", async () => {
  const old = await buildNodeTree("5.4.0-150-generic");
  try {
    const t = testIo({
      loadLibnl: () => {
        throw new Error("Cannot load libnl-route-3.so.200: cannot open shared object file");
      },
      checkStateDir: () =>
        Promise.reject(new Error('Cannot create "/var/lib/cni/ib-sriov": Read-only file system')),
    });
    const found = byCheck(await runChecks(t.io, { root: old.root, rdma: false }));
    assert.deepEqual(found["libnl"], [
      "failure",
      "Cannot load libnl-route-3.so.200: cannot open shared object file",
    ]);
    assert.deepEqual(found["kernel"], [
      "failure",
      "5.4.0-150-generic is older than 5.6: the kernel cannot set VF GUIDs or move RDMA devices",
    ]);
    assert.deepEqual(found["state directory"], [
      "failure",
      'Cannot create "/var/lib/cni/ib-sriov": Read-only file system',
    ]);
    assert.equal(await runTool(["doctor", "--sysfs-root", old.root], t.io), 1);
  } finally {
    await old.cleanup();
  }
});

Deno.test("runChecks() warns when no device has SR-IOV enabled and the kernel release is unknown", async () => {
  const empty = await Deno.makeTempDir();
  try {
    const found = byCheck(await runChecks(testIo().io, { root: empty, rdma: false }));
    assert.deepEqual(found["SR-IOV"], [
      "warning",
      "no PCI device has SR-IOV enabled (sriov_numvfs is 0 or absent everywhere)",
    ]);
    assert.deepEqual(found["kernel"], ["warning", "cannot tell the kernel version from nothing"]);
    assert.equal(found["VF GUIDs"], undefined);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("runTool() doctor refuses positional arguments", async () => {
  const t = testIo();
  assert.equal(await runTool(["doctor", "extra"], t.io), 2);
  assert.match(t.stderr(), /^ib-sriov doctor: Unexpected argument 'extra'/);
});
