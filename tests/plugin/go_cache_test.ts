/**
 * Upgrading from the Go ib-sriov-cni with pods running: DEL and GC of attachments it made, from
 * every cache layout it wrote (`tests/fixtures/go_cache/`). The state is set up as the Go plugin
 * leaves it: our ADD without a GUID attaches the VF, then its record is replaced with the Go
 * layout and the allocation record (Go keeps none) is removed.
 */
import assert from "node:assert/strict";
import { cmdAdd } from "../../lib/plugin/add.ts";
import { cmdCheck } from "../../lib/plugin/check.ts";
import { cmdDel } from "../../lib/plugin/del.ts";
import { cmdGc } from "../../lib/plugin/gc.ts";
import { assertRejectsCniError } from "../assert_cni_error.ts";
import { HOST_NETNS } from "../fakes/fake_kernel.ts";
import { goCacheFixture, type GoCacheLayout } from "../go_netconf.ts";
import { netConf, POD, POD_B, request, VFS, type World, world } from "./world.ts";

const VF = VFS[0]!;
const KEY = { containerId: "ctr-a", ifname: "net1" };

/** Attaches VF 0 as `net1` of `ctr-a` and leaves it as the Go plugin would have, in `layout`. */
async function attachedByGo(w: World, layout: GoCacheLayout, add = netConf(0)): Promise<void> {
  await cmdAdd(w.deps, request("ADD", add));
  Deno.writeTextFileSync(`${w.stateDir}/cache/ctr-a-net1`, goCacheFixture(layout));
  Deno.removeSync(`${w.stateDir}/cache/pci/${VF.pci}`);
}

function warnings(w: World): string[] {
  return w.logs.map((l) => JSON.parse(l) as Record<string, string>)
    .filter((r) => r.level === "warning").map((r) => r.msg!);
}

const NO_HOST_NAME = `VF "${VF.pci}": the record has no host name for its netdev; it stays in ` +
  `the host as "net1"`;

const LAYOUTS: { layout: GoCacheLayout; warnings: string[] }[] = [
  { layout: "v1.3.0", warnings: [] },
  { layout: "v1.3.0-args-cni-null", warnings: [] },
  { layout: "v1.3.0-no-HostIFNames", warnings: [NO_HOST_NAME] },
  // deviceID from the DEL config; the lease with the DEL config's ipam.type even for "ipam":{}.
  { layout: "pre-v1.3.0", warnings: [NO_HOST_NAME] },
  { layout: "pre-v1.3.0-host-local", warnings: [NO_HOST_NAME] },
];

for (const { layout, warnings: expected } of LAYOUTS) {
  Deno.test(`cmdDel() of a Go plugin attachment with cache layout ${layout} brings the VF back and frees the lease`, async () => {
    await using w = await world();
    const before = w.kernel.view();
    await attachedByGo(w, layout);
    await cmdDel(w.deps, request("DEL", netConf(0)));
    assert.deepEqual(warnings(w), expected);
    assert.equal(w.ipam.leases.size, 0);
    assert.deepEqual(w.stateFiles(), []);
    // Without a host name recorded, the VF keeps its pod name, which is free in the host.
    const name = expected.length === 0 ? VF.netdev : "net1";
    const host = before.links[HOST_NETNS]!.map((n) => n === VF.netdev ? name : n).sort();
    assert.deepEqual(w.kernel.view(), {
      links: { ...before.links, [HOST_NETNS]: host },
      vfs: { ...before.vfs, [VF.pci]: { ...before.vfs[VF.pci]!, netdev: name } },
    });
  });
}

Deno.test("cmdCheck() of a Go plugin attachment passes from each cache layout it wrote", async () => {
  for (const { layout } of LAYOUTS) {
    await using w = await world();
    const result = await cmdAdd(w.deps, request("ADD", netConf(0)));
    Deno.writeTextFileSync(`${w.stateDir}/cache/ctr-a-net1`, goCacheFixture(layout));
    const prevResult = { cniVersion: "1.0.0", ...result };
    await cmdCheck(w.deps, request("CHECK", { ...netConf(0), prevResult }));
  }
});

Deno.test("cmdDel() restores the GUID, link state and RDMA device a Go plugin attachment recorded", async () => {
  await using w = await world();
  const before = w.kernel.vfView(VF.pci);
  const port = "02:00:00:00:00:00:00:01";
  await attachedByGo(
    w,
    "v1.3.0-guid-rdma",
    netConf(0, {
      ibKubernetesEnabled: true,
      "link_state": "enable",
      rdmaIsolation: true,
      pkey: "0x8001",
      args: {
        cni: { guid: "02:00:00:00:00:0a:00:01", "mellanox.infiniband.app": "configured" },
      },
    }),
  );
  // The fixture names the RDMA device our ADD moved, as the Go plugin would have.
  assert.deepEqual(w.kernel.rdmaIn(POD), ["mlx5_4"]);
  await cmdDel(w.deps, request("DEL", netConf(0)));
  // The Go plugin recorded one GUID (the port GUID), which DEL restores as node GUID too.
  assert.deepEqual(w.kernel.vfView(VF.pci), {
    ...before,
    nodeGuid: port,
    probed: { nodeGuid: port, portGuid: port },
  });
  assert.deepEqual(warnings(w), []);
  assert.equal(w.ipam.leases.size, 0);
  assert.deepEqual(w.stateFiles(), []);
});

Deno.test("cmdDel() of a Go cache without HostIFNames gives the VF a temporary name when its pod name is taken in the host", async () => {
  await using w = await world();
  await attachedByGo(w, "v1.3.0-no-HostIFNames");
  w.kernel.addLink(HOST_NETNS, { name: "net1", mtu: 1500, address: "02:00:00:00:00:01", up: true });
  const index = w.kernel.linksIn(POD).get("net1")!.index;
  await cmdDel(w.deps, request("DEL", netConf(0)));
  assert.deepEqual(warnings(w), [
    `VF "${VF.pci}": the record has no host name for its netdev; it stays in the host as ` +
    `"vfdev${index}" ("net1" is taken there)`,
  ]);
  assert.deepEqual([w.kernel.vfView(VF.pci).netns, w.kernel.vfView(VF.pci).netdev], [
    HOST_NETNS,
    `vfdev${index}`,
  ]);
  assert.deepEqual(w.stateFiles(), []);
});

Deno.test("cmdDel() of a Go cache that names no device, with no deviceID in the DEL config either, frees the lease and names what is left", async () => {
  await using w = await world();
  await attachedByGo(w, "pre-v1.3.0");
  const { deviceID: _, ...noDevice } = netConf(0);
  await cmdDel(w.deps, request("DEL", noDevice));
  assert.deepEqual(warnings(w), [
    `the record names no device and the config no deviceID: "net1" is left in netns "${POD}"`,
  ]);
  assert.equal(w.ipam.leases.size, 0);
  assert.deepEqual(w.stateFiles(), []);
  assert.equal(w.kernel.vfView(VF.pci).netns, POD);
});

Deno.test("cmdDel() of a Go plugin attachment whose VF is found nowhere succeeds and names what was left", async () => {
  await using w = await world();
  await attachedByGo(w, "v1.3.0");
  const pod = w.kernel.openNetns(POD);
  w.kernel.moveLink(pod, w.kernel.linkByName(pod, "net1")!.index, w.kernel.openNetns(POD_B));
  await cmdDel(w.deps, request("DEL", netConf(0)));
  assert.deepEqual(warnings(w), [
    `VF "${VF.pci}": its netdev is found neither in the host nor as "net1" in netns "${POD}"; ` +
    `it is left where it is`,
  ]);
  assert.equal(w.ipam.leases.size, 0);
  assert.deepEqual(w.stateFiles(), []);
  assert.equal(w.kernel.vfView(VF.pci).netns, POD_B);
});

const GC = netConf(0, { cniVersion: "1.1.0", "cni.dev/valid-attachments": [] });
const gcRequest = () =>
  request("GC", GC, { containerId: "", ifname: "", netns: "", cniVersion: "1.1.0" });

Deno.test("cmdGc() frees a Go plugin attachment's lease before an IPAM GC that predates CNI 1.1 fails, and keeps the record of a VF it cannot find", async () => {
  await using w = await world();
  await attachedByGo(w, "v1.3.0");
  const cache = goCacheFixture("v1.3.0");
  w.ipam.failGc = { code: 3, msg: "missing containerID" };
  await assertRejectsCniError(
    cmdGc(w.deps, gcRequest()),
    3,
    'IPAM plugin "host-local" GC failed: missing containerID',
  );
  assert.equal(w.ipam.leases.size, 0);
  assert.deepEqual(w.ipam.calls.map((c) => [c.command, c.env.CNI_CONTAINERID, c.env.CNI_NETNS]), [
    ["ADD", "ctr-a", POD],
    ["DEL", "ctr-a", undefined],
    ["GC", undefined, undefined],
  ]);
  // In the version of the Go plugin's ADD: an IPAM plugin that predates CNI 1.1 refuses 1.1.0.
  const del = JSON.parse(new TextDecoder().decode(w.ipam.calls[1]!.stdin));
  assert.deepEqual(del, { ...GC, cniVersion: "1.0.0" });
  // The Go plugin never cached the netns: the VF may sit in one that still exists.
  assert.deepEqual(warnings(w), [
    `VF "${VF.pci}": its netdev is found neither in the host nor as "net1" in a netns (the ` +
    `record names none); it is left where it is, and its record kept`,
  ]);
  assert.equal(Deno.readTextFileSync(`${w.stateDir}/cache/ctr-a-net1`), cache);
  assert.equal(w.kernel.vfView(VF.pci).netns, POD);
});

Deno.test("cmdGc() brings a Go plugin attachment's VF back once its pod's netns died", async () => {
  await using w = await world();
  const before = w.kernel.view();
  await attachedByGo(w, "v1.3.0");
  w.kernel.deleteNetns(POD);
  await cmdGc(w.deps, gcRequest());
  w.kernel.addNetns(POD);
  assert.deepEqual(w.kernel.view(), before);
  assert.equal(w.ipam.leases.size, 0);
  assert.deepEqual(w.stateFiles(), []);
  assert.equal(w.store.readAttachment(KEY), null);
});

Deno.test("cmdGc() reports a failed release and the IPAM plugin's refused GC together", async () => {
  await using w = await world();
  await attachedByGo(w, "v1.3.0");
  w.ipam.failGc = { code: 3, msg: "missing containerID" };
  w.kernel.deleteNetns(POD);
  w.faults.failAt = w.faults.count + 1;
  const err = await assertRejectsCniError(
    cmdGc(w.deps, gcRequest()),
    101,
    "GC could not release 1 attachment(s)",
  );
  assert.match(
    err.details ?? "",
    /^ctr-a\/net1: .*injected fault.*; IPAM plugin "host-local" GC failed: missing containerID$/,
  );
  assert.equal(w.ipam.leases.size, 0, "the lease was freed before the kernel step failed");
});

/**
 * Holds `<runDir>/cni.lock` as the Go plugin does around its whole ADD and DEL: an exclusive
 * flock(2), here by util-linux flock(1), until the returned function releases it.
 */
async function holdNodeLockAsGo(w: World): Promise<() => Promise<void>> {
  const path = `${w.stateDir}/run/cni.lock`;
  Deno.mkdirSync(`${w.stateDir}/run`, { recursive: true });
  // -o: the lock stays with flock(1) itself, not with `sleep`, so killing it releases the lock.
  const child = new Deno.Command("flock", { args: ["-o", "-x", path, "sleep", "60"] }).spawn();
  // Taken once a non-blocking attempt of our own fails.
  while ((await new Deno.Command("flock", { args: ["-n", "-x", path, "true"] }).output()).success) {
    await new Promise((r) => setTimeout(r, 10));
  }
  let released: Promise<unknown> | undefined;
  return async () => {
    released ??= (child.kill(), child.status);
    await released;
  };
}

Deno.test("cmdAdd() waits for the node lock the Go plugin holds before a rebind or RDMA move, and times out with code 11", async () => {
  const withGuid = netConf(0, { runtimeConfig: { infinibandGUID: "02:00:00:00:00:0a:00:01" } });
  for (const conf of [withGuid, netConf(0, { rdmaIsolation: true })]) {
    await using w = await world();
    const before = w.kernel.view();
    const release = await holdNodeLockAsGo(w);
    try {
      const err = await assertRejectsCniError(
        cmdAdd(w.deps, request("ADD", conf)),
        11,
        'timed out after 500 ms waiting for lock "cni" held by an unknown process',
      );
      assert.equal(err.details, `${w.stateDir}/run/cni.lock`);
      assert.deepEqual(w.kernel.view(), before);
      assert.deepEqual(w.stateFiles(), []);
      // Released while ADD waits, the lock is taken and ADD completes.
      w.deps.lockTimeoutMs = 10_000;
      const started = performance.now();
      const add = cmdAdd(w.deps, request("ADD", conf));
      await new Promise((r) => setTimeout(r, 300));
      await release();
      await add;
      assert.ok(performance.now() - started >= 300);
      assert.equal(w.kernel.vfView(VF.pci).netns, POD);
    } finally {
      await release();
    }
  }
});
