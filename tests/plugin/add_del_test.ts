import assert from "node:assert/strict";
import { cmdAdd } from "../../lib/plugin/add.ts";
import { cmdCheck } from "../../lib/plugin/check.ts";
import { cmdDel } from "../../lib/plugin/del.ts";
import { cmdGc } from "../../lib/plugin/gc.ts";
import { HOST_NETNS } from "../fakes/fake_kernel.ts";
import { assertRejectsCniError } from "../assert_cni_error.ts";
import { CniError } from "../../lib/cni/errors.ts";
import { netConf, POD, POD_B, podStepErrors, request, VFS, world } from "./world.ts";

Deno.test("cmdAdd() moves the VF netdev into the pod under CNI_IFNAME, addressed, routed and up", async () => {
  await using w = await world();
  const result = await cmdAdd(w.deps, request("ADD", netConf(1)));
  const host = w.kernel.linksIn(HOST_NETNS);
  assert.equal(host.has(VFS[1]!.netdev), false);
  const net1 = w.kernel.linksIn(POD).get("net1")!;
  assert.equal(net1.up, true);
  assert.deepEqual(net1.addresses, ["10.56.217.10/24"]);
  assert.deepEqual(net1.routes, [{ dst: "0.0.0.0/0", gw: "10.56.217.1" }]);
  assert.deepEqual(result, {
    interfaces: [{ name: "net1", mac: net1.address, mtu: 4092, sandbox: POD, pciID: VFS[1]!.pci }],
    ips: [{ address: "10.56.217.10/24", gateway: "10.56.217.1", interface: 0 }],
    routes: [{ dst: "0.0.0.0/0" }],
    dns: { nameservers: ["10.56.217.1"] },
  });
  const record = w.store.readAttachment({ containerId: "ctr-a", ifname: "net1" })!;
  assert.equal(record.phase, "attached");
  assert.equal(record.hostIfName, VFS[1]!.netdev);
  assert.deepEqual(w.store.deviceOwner(VFS[1]!.pci), {
    containerId: "ctr-a",
    ifname: "net1",
    netns: POD,
  });
});

Deno.test("cmdAdd() appends its interface to a chained prevResult", async () => {
  await using w = await world();
  const prevResult = {
    cniVersion: "1.0.0",
    interfaces: [{ name: "eth0", sandbox: POD }],
    ips: [{ address: "192.168.0.5/24", interface: 0 }],
  };
  const result = await cmdAdd(w.deps, request("ADD", netConf(1, { prevResult })));
  assert.deepEqual(result.interfaces.map((i) => i.name), ["eth0", "net1"]);
  assert.deepEqual(result.ips.map((i) => [i.address, i.interface]), [["192.168.0.5/24", 0], [
    "10.56.217.10/24",
    1,
  ]]);
});

Deno.test("cmdDel() after cmdAdd() leaves the node exactly as it was", async () => {
  await using w = await world();
  const before = w.kernel.snapshot();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  await cmdDel(w.deps, request("DEL", netConf(1)));
  assert.deepEqual(w.kernel.snapshot(), before);
  assert.deepEqual(w.stateFiles(), []);
  assert.equal(w.ipam.leases.size, 0);
});

Deno.test("cmdDel() succeeds when repeated and when there was never an ADD, and still releases IPAM", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  await cmdDel(w.deps, request("DEL", netConf(1)));
  await cmdDel(w.deps, request("DEL", netConf(1)));
  await cmdDel(w.deps, request("DEL", netConf(1), { containerId: "never-added" }));
  const dels = w.ipam.calls.filter((c) => c.command === "DEL").map((c) => c.env.CNI_CONTAINERID);
  assert.deepEqual(dels, ["ctr-a", "ctr-a", "never-added"]);
});

Deno.test("cmdDel() without a record releases the claim of an ADD killed before it wrote one, and no other", async () => {
  await using w = await world();
  // A killed ADD: the device claimed, no attachment record yet.
  w.store.claimDevice(VFS[1]!.pci, { containerId: "ctr-a", ifname: "net1", netns: POD });
  await cmdDel(w.deps, request("DEL", netConf(1)));
  assert.equal(w.store.deviceOwner(VFS[1]!.pci), null);
  // Another attachment's claim survives a DEL that names the same device.
  w.store.claimDevice(VFS[1]!.pci, { containerId: "other", ifname: "net1", netns: POD_B });
  await cmdDel(w.deps, request("DEL", netConf(1)));
  assert.deepEqual(w.store.deviceOwner(VFS[1]!.pci), {
    containerId: "other",
    ifname: "net1",
    netns: POD_B,
  });
});

Deno.test("cmdDel() succeeds when the netns is gone and gives the VF back its host name", async () => {
  await using w = await world();
  const before = w.kernel.snapshot();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  // The kernel returns a dead namespace's physical links to the host under their pod names.
  w.kernel.deleteNetns(POD);
  assert.equal(w.kernel.linksIn(HOST_NETNS).has("net1"), true);
  await cmdDel(w.deps, request("DEL", netConf(1)));
  const host = w.kernel.linksIn(HOST_NETNS);
  assert.equal(host.has("net1"), false);
  assert.equal(host.get(VFS[1]!.netdev)!.up, true, "up again, as before ADD");
  const { [POD]: _, ...rest } = before;
  assert.deepEqual(
    w.kernel.snapshot()[HOST_NETNS]!.map((l) => l.name),
    rest[HOST_NETNS]!.map((l) => l.name),
  );
  assert.deepEqual(w.stateFiles(), []);
});

Deno.test("cmdDel() finds the VF by PCI address when its pod name is taken in the host after the netns died", async () => {
  await using w = await world();
  w.kernel.addLink(HOST_NETNS, {
    name: "net1",
    mtu: 1500,
    address: "02:00:00:00:00:97",
    up: false,
  });
  const before = w.kernel.view();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  w.kernel.deleteNetns(POD);
  const returned = [...w.kernel.linksIn(HOST_NETNS).keys()].filter((n) => n.startsWith("dev"));
  assert.equal(returned.length, 1, "the kernel gave the VF netdev a dev<N> name");
  await cmdDel(w.deps, request("DEL", netConf(1)));
  w.kernel.addNetns(POD);
  assert.deepEqual(w.kernel.view(), before);
  assert.deepEqual(w.stateFiles(), []);
});

Deno.test("cmdDel() succeeds when CNI_NETNS is not a netns or is empty", async () => {
  for (const netns of ["/var/run/netns/plain-file", ""]) {
    await using w = await world();
    w.kernel.addPlainFile("/var/run/netns/plain-file");
    await cmdAdd(w.deps, request("ADD", netConf(1)));
    w.kernel.deleteNetns(POD);
    await cmdDel(w.deps, request("DEL", netConf(1), { netns }));
    assert.equal(w.kernel.linksIn(HOST_NETNS).has(VFS[1]!.netdev), true);
    assert.deepEqual(w.stateFiles(), []);
  }
});

Deno.test("cmdDel() does not touch a host link that only shares the pod's interface name", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  w.kernel.deleteNetns(POD);
  // The VF vanished (removed or re-used) and a stranger now carries the name "net1".
  w.kernel.setDriver(VFS[1]!.pci, null);
  w.kernel.addLink(HOST_NETNS, {
    name: "vfdev99",
    mtu: 1500,
    address: "02:00:00:00:00:99",
    up: true,
  });
  const strangerBefore = w.kernel.linksIn(HOST_NETNS).get("vfdev99");
  await cmdDel(w.deps, request("DEL", netConf(1)));
  assert.deepEqual(w.kernel.linksIn(HOST_NETNS).get("vfdev99"), strangerBefore);
});

Deno.test("cmdAdd() refuses an interface name the pod already has, changing nothing", async () => {
  await using w = await world();
  w.kernel.addLink(POD, { name: "net1", mtu: 1500, address: "02:00:00:00:00:01", up: true });
  const before = w.kernel.snapshot();
  await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", netConf(1))),
    4,
    `CNI_IFNAME "net1" already exists in netns "${POD}"`,
  );
  assert.deepEqual(w.kernel.snapshot(), before);
  assert.deepEqual(w.stateFiles(), []);
  assert.equal(w.ipam.calls.length, 0);
});

Deno.test("cmdAdd() refuses a VF that another attachment holds", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  const before = w.kernel.snapshot();
  await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", netConf(1), { containerId: "ctr-b", netns: POD_B })),
    100,
    `device "0000:3b:00.2" is already allocated to container "ctr-a" interface "net1" (netns "${POD}")`,
  );
  assert.deepEqual(w.kernel.snapshot(), before);
});

Deno.test("cmdAdd() names the deviceID when it is missing, not a VF, or has no netdev", async () => {
  await using w = await world();
  w.kernel.addPlainPci("0000:5e:00.0", "mlx5_core");
  await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", { ...netConf(1), deviceID: "0000:af:06.7" })),
    100,
    'deviceID "0000:af:06.7": no such PCI device (/sys/bus/pci/devices/0000:af:06.7 does not exist)',
  );
  await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", { ...netConf(1), deviceID: "0000:5e:00.0" })),
    100,
    'deviceID "0000:5e:00.0" is not an SR-IOV virtual function (it has no physfn) and is bound to "mlx5_core"',
  );
  w.kernel.setDriver(VFS[0]!.pci, null);
  await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", netConf(0))),
    100,
    'deviceID "0000:3b:00.1": the VF has no netdev (driver none)',
  );
});

Deno.test("cmdAdd() refuses a netns that does not exist, is not a netns or is the host's with code 8", async () => {
  await using w = await world();
  w.kernel.addPlainFile("/tmp/not-a-netns");
  await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", netConf(1), { netns: "/var/run/netns/gone" })),
    8,
    'CNI_NETNS "/var/run/netns/gone" cannot be used: no such file',
  );
  await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", netConf(1), { netns: "/tmp/not-a-netns" })),
    8,
    'CNI_NETNS "/tmp/not-a-netns" cannot be used: not a network namespace',
  );
  await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", netConf(1), { netns: HOST_NETNS })),
    8,
    `CNI_NETNS "${HOST_NETNS}" is the host's own network namespace`,
  );
  assert.equal(w.faults.count, 0);
});

Deno.test("cmdAdd() passes an IPAM error through with its code and puts the VF back", async () => {
  await using w = await world();
  const before = w.kernel.snapshot();
  w.ipam.failAdd = { code: 11, msg: "no IP addresses available in range set" };
  await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", netConf(1))),
    11,
    "no IP addresses available in range set",
  );
  assert.deepEqual(w.kernel.snapshot(), before);
  assert.deepEqual(w.stateFiles(), []);
});

/** The whole message of ADD's error when its step N (1-based) fails, for `netConf(1)`. */
const ADD_STEP_ERRORS = [
  'Cannot move link "ibp59s0f0v1" from the host netns to netns "/var/run/netns/pod-a" as "net1": ' +
  "injected fault at step 1",
  ...podStepErrors(2),
];

Deno.test("cmdAdd() leaves the node as it was when any step fails, saying which step once", async () => {
  let steps: number;
  {
    await using w = await world();
    await cmdAdd(w.deps, request("ADD", netConf(1)));
    steps = w.faults.count;
  }
  assert.equal(steps, ADD_STEP_ERRORS.length, "ADD's mutating steps");
  for (let n = 1; n <= steps; n++) {
    await using w = await world();
    const before = w.kernel.snapshot();
    w.faults.failAt = n;
    const err = await cmdAdd(w.deps, request("ADD", netConf(1))).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof CniError, `step ${n}: ${String(err)}`);
    assert.ok([101, 102].includes(err.code), `step ${n}: code ${err.code}`);
    assert.equal(err.message, ADD_STEP_ERRORS[n - 1], `step ${n}`);
    assert.deepEqual(
      w.kernel.snapshot(),
      before,
      `after failing step ${n}: ${w.faults.log[n - 1]}`,
    );
    assert.deepEqual(w.stateFiles(), [], `state after failing step ${n}`);
    assert.equal(w.ipam.leases.size, 0, `lease after failing step ${n}`);
  }
});

Deno.test("cmdAdd() waits for ib-kubernetes with code 11, then requires the GUID it assigns", async () => {
  await using w = await world();
  const before = w.kernel.snapshot();
  await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", netConf(1, { ibKubernetesEnabled: true }))),
    11,
    /^args\.cni\["mellanox\.infiniband\.app"\] is null, not "configured"/,
  );
  await assertRejectsCniError(
    cmdAdd(
      w.deps,
      request(
        "ADD",
        netConf(1, {
          ibKubernetesEnabled: true,
          args: { cni: { "mellanox.infiniband.app": "configured" } },
        }),
      ),
    ),
    7,
    "ibKubernetesEnabled is true but no GUID was given (runtimeConfig.infinibandGUID or args.cni.guid): ib-kubernetes must assign the VF's GUID",
  );
  assert.equal(w.faults.count, 0);
  assert.deepEqual(w.kernel.snapshot(), before);
  assert.deepEqual(w.stateFiles(), []);
});

Deno.test("cmdCheck() passes on a healthy attachment and names what is broken", async () => {
  await using w = await world();
  const result = await cmdAdd(w.deps, request("ADD", netConf(1)));
  const prevResult = { cniVersion: "1.0.0", ...result };
  await cmdCheck(w.deps, request("CHECK", netConf(1, { prevResult })));
  assert.equal(w.ipam.calls.at(-1)!.command, "CHECK");
  const pod = w.deps.netlink.openNetns(POD);
  w.deps.netlink.setLinkUp(pod, w.kernel.linksIn(POD).get("net1")!.index, false);
  await assertRejectsCniError(
    cmdCheck(w.deps, request("CHECK", netConf(1, { prevResult }))),
    104,
    `interface "net1" in netns "${POD}" is down`,
  );
  await assertRejectsCniError(
    cmdCheck(w.deps, request("CHECK", netConf(1), { containerId: "other" })),
    3,
    /^no attachment of container "other" interface "net1"/,
  );
});

Deno.test("cmdGc() releases attachments that are no longer valid and keeps the others", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", netConf(0), { containerId: "keep", netns: POD }));
  await cmdAdd(w.deps, request("ADD", netConf(1), { containerId: "stale", netns: POD_B }));
  const gc = netConf(0, {
    cniVersion: "1.1.0",
    "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "net1" }],
  });
  await cmdGc(
    w.deps,
    request("GC", gc, { containerId: "", ifname: "", netns: "", cniVersion: "1.1.0" }),
  );
  assert.equal(w.kernel.linksIn(POD).has("net1"), true);
  assert.equal(w.kernel.linksIn(POD_B).has("net1"), false);
  assert.equal(w.kernel.linksIn(HOST_NETNS).has(VFS[1]!.netdev), true);
  assert.equal(w.store.readAttachment({ containerId: "stale", ifname: "net1" }), null);
  assert.notEqual(w.store.readAttachment({ containerId: "keep", ifname: "net1" }), null);
  assert.equal(w.ipam.calls.at(-1)!.command, "GC");
});

Deno.test("cmdAdd() that loses CNI_IFNAME in the pod to a racing link brings the netdev back as it was", async () => {
  await using w = await world();
  const before = w.kernel.vfView(VFS[1]!.pci);
  const move = w.kernel.moveLink.bind(w.kernel);
  // The pod gets a "net1" after ADD checked for one: the kernel moves the netdev under its host
  // name, then refuses the rename.
  w.kernel.moveLink = (ns, index, target, name) => {
    if (target.path === POD && w.kernel.linkByName(target, "net1") === null) {
      w.kernel.addLink(POD, { name: "net1", mtu: 1500, address: "02:00:00:00:00:01", up: false });
    }
    move(ns, index, target, name);
  };
  await assertRejectsCniError(
    cmdAdd(w.deps, request("ADD", netConf(1))),
    101,
    `Cannot move link "${VFS[1]!.netdev}" from the host netns to netns "${POD}" as "net1": EEXIST`,
  );
  assert.deepEqual(w.kernel.vfView(VFS[1]!.pci), before);
  assert.equal(before.up, true);
  assert.deepEqual(w.stateFiles(), []);
});

Deno.test("cmdGc() that fails to release one attachment releases the others, then reports it with IPAM GC run", async () => {
  await using w = await world();
  const host = w.kernel.hostNetns();
  const attachments = [
    { containerId: "stale-a", netns: POD, vf: 0 },
    { containerId: "stale-b", netns: POD_B, vf: 1 },
  ].map((a) => ({ ...a, index: w.kernel.linkByName(host, VFS[a.vf]!.netdev)!.index }));
  for (const { containerId, netns, vf } of attachments) {
    await cmdAdd(w.deps, request("ADD", netConf(vf), { containerId, netns }));
  }
  const gc = netConf(0, { cniVersion: "1.1.0", "cni.dev/valid-attachments": [] });
  // The first kernel step of GC, the first attachment's move back to the host, fails.
  const step = w.faults.count + 1;
  w.faults.failAt = step;
  const err = await assertRejectsCniError(
    cmdGc(
      w.deps,
      request("GC", gc, { containerId: "", ifname: "", netns: "", cniVersion: "1.1.0" }),
    ),
    101,
    "GC could not release 1 attachment(s)",
  );
  const failed = attachments.find((a) => err.details.startsWith(`${a.containerId}/net1: `))!;
  const released = attachments.find((a) => a !== failed)!;
  assert.equal(
    err.details,
    `${failed.containerId}/net1: Cannot move link "net1" from netns "${failed.netns}" to the host ` +
      `netns as "vfdev${failed.index}": injected fault at step ${step}`,
  );
  assert.notEqual(
    w.store.readAttachment({ containerId: failed.containerId, ifname: "net1" }),
    null,
  );
  assert.equal(w.store.readAttachment({ containerId: released.containerId, ifname: "net1" }), null);
  assert.equal(w.kernel.linksIn(released.netns).has("net1"), false);
  assert.equal(w.kernel.linksIn(HOST_NETNS).has(VFS[released.vf]!.netdev), true);
  assert.equal(w.ipam.calls.at(-1)!.command, "GC");
});
