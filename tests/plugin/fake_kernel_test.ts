/**
 * The in-memory kernel's own rules for VF tables, driver binding and RDMA devices, so that the
 * plugin tests built on it can trust what it answers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { NetlinkError, type Netns, NleCode } from "../../lib/netlink/netlink.ts";
import { FakeKernel, HOST_NETNS, KernelError } from "../fakes/fake_kernel.ts";
import { InjectedFault } from "../fakes/faults.ts";
import { PF, POD, VFS } from "./world.ts";

const VF0 = VFS[0]!.pci;
const NEW = { nodeGuid: "AA:BB:CC:DD:EE:FF:00:11", portGuid: "AA:BB:CC:DD:EE:FF:00:22" };

/** The world's node: one PF, three VFs, one pod. */
function node(): { k: FakeKernel; host: Netns; pod: Netns; pf: number } {
  const k = new FakeKernel();
  k.addPf(PF.pci, PF.name, VFS);
  k.addNetns(POD);
  const host = k.hostNetns();
  return { k, host, pod: k.openNetns(POD), pf: k.linkByName(host, PF.name)!.index };
}

function rebind(k: FakeKernel, pci: string): void {
  k.unbind(pci, "mlx5_core");
  k.bind(pci, "mlx5_core");
}

function assertThrows(fn: () => unknown, cls: abstract new (...a: never[]) => Error, msg: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `${String(e)} is not a ${cls.name}`);
    assert.equal(e.message, msg);
    return true;
  });
}

Deno.test("FakeKernel.addPf() starts each VF with its table, its netdev and its RDMA device in agreement", () => {
  const { k, host, pf } = node();
  assert.deepEqual(k.vfSettings(host, pf, 0), {
    vf: 0,
    nodeGuid: "02:00:00:00:00:01:00:01",
    portGuid: "02:00:00:00:00:00:00:01",
    linkState: "auto",
  });
  assert.deepEqual(k.vfView(VF0), {
    driver: "mlx5_core",
    netns: HOST_NETNS,
    netdev: "ibp59s0f0v0",
    up: false,
    mtu: 4092,
    altNames: [],
    nodeGuid: "02:00:00:00:00:01:00:01",
    portGuid: "02:00:00:00:00:00:00:01",
    linkState: "auto",
    probed: { nodeGuid: "02:00:00:00:00:01:00:01", portGuid: "02:00:00:00:00:00:00:01" },
    rdmaNetns: HOST_NETNS,
  });
  assert.equal(
    k.linkByName(host, "ibp59s0f0v0")!.address,
    "00:00:10:87:fe:80:00:00:00:00:00:00:02:00:00:00:00:00:00:01",
  );
  assert.deepEqual(k.rdmaDevices(PF.pci), ["mlx5_0"]);
  assert.deepEqual(VFS.map((v) => k.rdmaDevices(v.pci)), [["mlx5_1"], ["mlx5_2"], ["mlx5_3"]]);
  assert.equal(k.rdmaNodeGuid(VF0, "mlx5_1"), "0200:0000:0001:0001");
  assert.equal(k.vfSettings(host, pf, 3), null, "no VF 3");
  assert.equal(k.vfSettings(host, k.linkByName(host, "lo")!.index, 0), null, "lo has no VFs");
});

Deno.test("FakeKernel.addPf() takes GUIDs and link state from the spec, in lower case", () => {
  const k = new FakeKernel();
  k.addPf("0000:5e:00.0", "ib0", [{
    pci: "0000:5e:00.1",
    netdev: "ib1",
    nodeGuid: "0A:00:00:00:00:00:00:01",
    portGuid: "0A:00:00:00:00:00:00:02",
    linkState: "enable",
  }]);
  const host = k.hostNetns();
  assert.deepEqual(k.vfSettings(host, k.linkByName(host, "ib0")!.index, 0), {
    vf: 0,
    nodeGuid: "0a:00:00:00:00:00:00:01",
    portGuid: "0a:00:00:00:00:00:00:02",
    linkState: "enable",
  });
  assert.match(k.linkByName(host, "ib1")!.address, /:0a:00:00:00:00:00:00:02$/);
  assert.equal(
    k.rdmaNodeGuid("0000:5e:00.1", k.rdmaDevices("0000:5e:00.1")[0]!),
    "0a00:0000:0000:0001",
  );
  assert.throws(
    () =>
      k.addPf("0000:6e:00.0", "ib9", [{
        pci: "0000:6e:00.1",
        netdev: "ib10",
        address: "00:00:10:87:fe:80:00:00:00:00:00:00:02:00:00:00:00:00:00:01",
        portGuid: "02:00:00:00:00:00:00:02",
      }]),
    /address .* and portGuid disagree/,
  );
});

Deno.test("FakeKernel.setVf() changes the VF table, and the VF sees new GUIDs only after unbind and bind", () => {
  const { k, host, pf } = node();
  k.setVf(host, pf, 0, NEW);
  assert.deepEqual(k.vfSettings(host, pf, 0), {
    vf: 0,
    nodeGuid: "aa:bb:cc:dd:ee:ff:00:11",
    portGuid: "aa:bb:cc:dd:ee:ff:00:22",
    linkState: "auto",
  });
  // mlx5 reads the table at probe only: the netdev and RDMA device still carry the old GUIDs.
  assert.match(k.linkByName(host, "ibp59s0f0v0")!.address, /:02:00:00:00:00:00:00:01$/);
  assert.equal(k.rdmaNodeGuid(VF0, "mlx5_1"), "0200:0000:0001:0001");
  assert.equal(k.vfView(VF0).probed!.portGuid, "02:00:00:00:00:00:00:01");

  rebind(k, VF0);
  const [netdev] = k.netdevs(VF0);
  assert.match(k.linkByName(host, netdev!)!.address, /:aa:bb:cc:dd:ee:ff:00:22$/);
  const [rdma] = k.rdmaDevices(VF0);
  assert.equal(k.rdmaNodeGuid(VF0, rdma!), "aabb:ccdd:eeff:0011");
  assert.deepEqual(k.vfView(VF0).probed, {
    nodeGuid: "aa:bb:cc:dd:ee:ff:00:11",
    portGuid: "aa:bb:cc:dd:ee:ff:00:22",
  });
});

Deno.test("FakeKernel.setVf() sets the link state alone and leaves absent fields alone", () => {
  const { k, host, pf } = node();
  k.setVf(host, pf, 1, { linkState: "disable" });
  k.setVf(host, pf, 1, { portGuid: "02:00:00:00:00:00:00:99" });
  assert.deepEqual(k.vfSettings(host, pf, 1), {
    vf: 1,
    nodeGuid: "02:00:00:00:00:01:00:02",
    portGuid: "02:00:00:00:00:00:00:99",
    linkState: "disable",
  });
});

Deno.test("FakeKernel.setVf() refuses what the PF's driver cannot do with EOPNOTSUPP", () => {
  const { k, host, pf } = node();
  const unsupported = {
    name: "NetlinkError",
    code: NleCode.OpNotSupp,
    errnoName: "EOPNOTSUPP",
    message: "Operation not supported",
  };
  k.setPfOptions(PF.pci, { vfGuids: false });
  assert.throws(() => k.setVf(host, pf, 0, { nodeGuid: NEW.nodeGuid }), (e: unknown) => {
    assert.ok(e instanceof NetlinkError);
    return true;
  });
  assert.throws(() => k.setVf(host, pf, 0, { nodeGuid: NEW.nodeGuid }), unsupported);
  // As the kernel's do_setvfinfo(): the link state comes first and stays applied.
  assert.throws(
    () => k.setVf(host, pf, 0, { linkState: "enable", portGuid: NEW.portGuid }),
    unsupported,
  );
  assert.equal(k.vfSettings(host, pf, 0)!.linkState, "enable");
  assert.equal(k.vfSettings(host, pf, 0)!.portGuid, "02:00:00:00:00:00:00:01");

  k.setPfOptions(PF.pci, { vfGuids: true, vfLinkState: false });
  assert.throws(() => k.setVf(host, pf, 0, { linkState: "auto" }), unsupported);
  // The link state is refused before any GUID is looked at.
  assert.throws(
    () => k.setVf(host, pf, 0, { linkState: "auto", nodeGuid: NEW.nodeGuid }),
    unsupported,
  );
  assert.deepEqual(k.vfSettings(host, pf, 0), {
    vf: 0,
    nodeGuid: "02:00:00:00:00:01:00:01",
    portGuid: "02:00:00:00:00:00:00:01",
    linkState: "enable",
  });
});

Deno.test("FakeKernel.setVf() refuses a malformed GUID or a missing VF with EINVAL, changing nothing", () => {
  const { k, host, pf } = node();
  assertThrows(
    () => k.setVf(host, pf, 0, { linkState: "enable", nodeGuid: "02:00:00:00:00:01" }),
    KernelError,
    "node_guid 02:00:00:00:00:01: EINVAL",
  );
  assert.equal(k.vfSettings(host, pf, 0)!.linkState, "auto");
  assertThrows(
    () => k.setVf(host, pf, 7, { linkState: "enable" }),
    KernelError,
    "set vf 7 via ibp59s0f0: EINVAL",
  );
});

Deno.test("FakeKernel.refuseNextPortGuid() lets the link state and node GUID through, refuses the port GUID, once", () => {
  const { k, host, pf } = node();
  const before = k.vfSettings(host, pf, 0)!;
  k.refuseNextPortGuid("EIO");
  assertThrows(
    () => k.setVf(host, pf, 0, { ...NEW, linkState: "enable" }),
    KernelError,
    `set vf 0 port_guid ${NEW.portGuid} via ibp59s0f0: EIO`,
  );
  assert.deepEqual(k.vfSettings(host, pf, 0), {
    vf: 0,
    nodeGuid: NEW.nodeGuid.toLowerCase(),
    portGuid: before.portGuid,
    linkState: "enable",
  });
  // It waits for a request with a port GUID, and refuses that one only.
  k.refuseNextPortGuid("EIO");
  k.setVf(host, pf, 0, { nodeGuid: before.nodeGuid! });
  const refused = () => k.setVf(host, pf, 0, { portGuid: before.portGuid! });
  assertThrows(refused, KernelError, `set vf 0 port_guid ${before.portGuid} via ibp59s0f0: EIO`);
  refused();
  assert.deepEqual(k.vfSettings(host, pf, 0), { ...before, linkState: "enable" });
});

Deno.test("FakeKernel.vfSettings() reports null GUIDs for a driver without ndo_get_vf_guid", () => {
  const k = new FakeKernel();
  k.addPf(PF.pci, PF.name, VFS, { reportsGuids: false });
  const host = k.hostNetns();
  const pf = k.linkByName(host, PF.name)!.index;
  assert.deepEqual(k.vfSettings(host, pf, 2), {
    vf: 2,
    nodeGuid: null,
    portGuid: null,
    linkState: "auto",
  });
});

Deno.test("FakeKernel.vfSettings() and setVf() need the PF link in the namespace given", () => {
  const { k, pod, pf } = node();
  assertThrows(() => k.vfSettings(pod, pf, 0), KernelError, `link ${pf} in ${POD}: ENODEV`);
  assertThrows(
    () => k.setVf(pod, pf, 0, { linkState: "enable" }),
    KernelError,
    `link ${pf} in ${POD}: ENODEV`,
  );
  assert.equal(k.faults.count, 0);
});

Deno.test("FakeKernel.bind() makes a new netdev (ib<N>, new ifindex, down, no altname) and a new RDMA device in the host", () => {
  const k = new FakeKernel();
  k.addPf(PF.pci, PF.name, [{ ...VFS[0]!, up: true, altNames: ["enp59s0f0v0"] }, VFS[1]!]);
  const host = k.hostNetns();
  const before = k.linkByName(host, "ibp59s0f0v0")!;
  rebind(k, VF0);
  assert.deepEqual(k.netdevs(VF0), ["ib0"]);
  const after = k.linkByName(host, "ib0")!;
  assert.notEqual(after.index, before.index);
  assert.deepEqual(
    { up: after.up, altNames: after.altNames, mtu: after.mtu, address: after.address },
    { up: false, altNames: [], mtu: 4092, address: before.address },
  );
  assert.equal(k.linkByName(host, "ibp59s0f0v0"), null);
  assert.deepEqual(k.rdmaDevices(VF0), ["mlx5_3"]);
  // The kernel takes the lowest free ib<N>; ib_core never reuses an RDMA name.
  rebind(k, VFS[1]!.pci);
  assert.deepEqual(k.netdevs(VFS[1]!.pci), ["ib1"]);
  rebind(k, VF0);
  assert.deepEqual(k.netdevs(VF0), ["ib0"]);
  assert.deepEqual(k.rdmaDevices(VF0), ["mlx5_5"]);
});

Deno.test("FakeKernel.unbind() destroys the VF's netdev in a pod and its RDMA device in the pod", () => {
  const { k, host, pod } = node();
  k.moveDevice(host, "mlx5_1", pod);
  k.moveLink(host, k.netdevs(VF0).map((n) => k.linkByName(host, n)!)[0]!.index, pod);
  const vf = k.vfView(VF0);
  assert.deepEqual([vf.netns, vf.rdmaNetns], [POD, POD]);
  k.unbind(VF0, "mlx5_core");
  assert.deepEqual(k.vfView(VF0), {
    ...vf,
    driver: null,
    netns: null,
    netdev: null,
    up: null,
    mtu: null,
    altNames: null,
    probed: null,
    rdmaNetns: null,
  });
  assert.deepEqual([...k.linksIn(POD).keys()], ["lo"]);
  assert.deepEqual(k.devices(pod), []);
  // Bound again, it comes back in the host, not in the pod.
  k.bind(VF0, "mlx5_core");
  assert.deepEqual([k.vfView(VF0).netns, k.vfView(VF0).rdmaNetns], [HOST_NETNS, HOST_NETNS]);
});

Deno.test("FakeKernel.unbind() and bind() refuse a device not bound as asked with ENODEV", () => {
  const { k } = node();
  assertThrows(
    () => k.unbind(VF0, "vfio-pci"),
    KernelError,
    "unbind 0000:3b:00.1 from vfio-pci: ENODEV",
  );
  assertThrows(
    () => k.bind(VF0, "mlx5_core"),
    KernelError,
    "bind 0000:3b:00.1 to mlx5_core: EBUSY",
  );
  assertThrows(
    () => k.unbind("0000:af:00.0", "mlx5_core"),
    KernelError,
    "unbind 0000:af:00.0 from mlx5_core: ENODEV",
  );
  assert.equal(k.vfView(VF0).netdev, "ibp59s0f0v0");
});

Deno.test("FakeKernel.setDriver() to vfio-pci leaves the VF without netdev or RDMA device, its table still settable", () => {
  const { k, host, pf } = node();
  k.setDriver(VF0, "vfio-pci");
  assert.equal(k.driver(VF0), "vfio-pci");
  assert.deepEqual(k.netdevs(VF0), []);
  assert.deepEqual(k.rdmaDevices(VF0), []);
  assert.deepEqual(k.devices(host), ["mlx5_0", "mlx5_2", "mlx5_3"]);
  k.setVf(host, pf, 0, NEW);
  assert.equal(k.vfSettings(host, pf, 0)!.nodeGuid, "aa:bb:cc:dd:ee:ff:00:11");
  assert.equal(k.vfView(VF0).probed, null);
  // Back to mlx5_core, the driver probes the new GUID.
  k.unbind(VF0, "vfio-pci");
  k.bind(VF0, "mlx5_core");
  assert.deepEqual(k.vfView(VF0).probed, {
    nodeGuid: "aa:bb:cc:dd:ee:ff:00:11",
    portGuid: "aa:bb:cc:dd:ee:ff:00:22",
  });
});

Deno.test("FakeKernel.setUdevRename() renames a new netdev, after the udev delay on the fake clock", async () => {
  const { k } = node();
  k.setUdevRename("persistent");
  rebind(k, VF0);
  assert.deepEqual(k.netdevs(VF0), ["ibp59s0f0v0"]);

  k.setProbeTiming({ netdevDelayMs: 20, udevDelayMs: 50 });
  rebind(k, VF0);
  assert.deepEqual(k.netdevs(VF0), [], "no netdev until the probe has made it");
  await k.sleep(20);
  assert.deepEqual(k.netdevs(VF0), ["ib0"]);
  await k.sleep(49);
  assert.deepEqual(k.netdevs(VF0), ["ib0"]);
  await k.sleep(1);
  assert.deepEqual(k.netdevs(VF0), ["ibp59s0f0v0"]);
  assert.equal(k.now, 70);

  k.setUdevRename((pci, name) => pci === VF0 ? `${name}x` : null);
  k.setProbeTiming({ netdevDelayMs: 0 });
  rebind(k, VF0);
  await k.sleep(50);
  assert.deepEqual(k.netdevs(VF0), ["ib0x"]);
});

Deno.test("FakeKernel.setUdevRename() fails, as udev does, on a link that is up or a name that is taken", async () => {
  const { k, host } = node();
  k.setUdevRename("persistent");
  k.setProbeTiming({ udevDelayMs: 10 });
  rebind(k, VF0);
  k.setLinkUp(host, k.linkByName(host, "ib0")!.index, true);
  await k.sleep(10);
  assert.deepEqual(k.netdevs(VF0), ["ib0"]);
  k.addLink(HOST_NETNS, {
    name: "ibp59s0f0v2",
    mtu: 1500,
    address: "02:00:00:00:00:99",
    up: false,
  });
  rebind(k, VFS[2]!.pci);
  await k.sleep(10);
  assert.deepEqual(k.netdevs(VFS[2]!.pci), ["ib1"]);
});

Deno.test("FakeKernel.setProbeTiming() with an infinite delay never brings the netdev back; rebinding again drops the pending one", async () => {
  const { k } = node();
  k.setProbeTiming({ netdevDelayMs: Infinity });
  rebind(k, VF0);
  await k.sleep(1e9);
  assert.deepEqual(k.netdevs(VF0), []);
  k.setProbeTiming({ netdevDelayMs: 10 });
  rebind(k, VF0);
  k.unbind(VF0, "mlx5_core");
  await k.sleep(10);
  assert.deepEqual(k.netdevs(VF0), [], "the probe that was undone makes nothing");
});

Deno.test("FakeKernel.setBootGuids() makes a VF whose node came up with all-zero GUIDs", () => {
  const { k, host, pf } = node();
  const zero = "00:00:00:00:00:00:00:00";
  k.setBootGuids(VF0, { nodeGuid: zero, portGuid: zero });
  assert.equal(k.rdmaNodeGuid(VF0, "mlx5_1"), "0000:0000:0000:0000");
  assert.match(k.linkByName(host, "ibp59s0f0v0")!.address, /:00:00:00:00:00:00:00:00$/);
  assert.deepEqual(k.vfSettings(host, pf, 0), {
    vf: 0,
    nodeGuid: zero,
    portGuid: zero,
    linkState: "auto",
  });
});

Deno.test("FakeKernel.netnsMode(), devices() and moveDevice() in exclusive mode", () => {
  const { k, host, pod } = node();
  assert.equal(k.netnsMode(), "exclusive");
  assert.deepEqual(k.devices(host), ["mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"]);
  k.moveDevice(host, "mlx5_2", pod);
  assert.deepEqual(k.devices(pod), ["mlx5_2"]);
  assert.deepEqual(k.devices(host), ["mlx5_0", "mlx5_1", "mlx5_3"]);
  // The host's sysfs no longer shows it.
  assert.deepEqual(k.rdmaDevices(VFS[1]!.pci), []);
  assert.equal(k.rdmaNodeGuid(VFS[1]!.pci, "mlx5_2"), null);
  assert.throws(() => k.moveDevice(host, "mlx5_2", pod), {
    name: "NetlinkError",
    errnoName: "ENOENT",
    message: "no such device in the source netns",
  });
  assert.throws(() => k.moveDevice(pod, "mlx5_9", host), { errnoName: "ENOENT" });
  k.moveDevice(pod, "mlx5_2", host);
  assert.deepEqual(k.rdmaDevices(VFS[1]!.pci), ["mlx5_2"], "a move keeps the device's name");
});

Deno.test("FakeKernel.moveDevice() recreates the VF's IPoIB netdev in the host, unless told not to", () => {
  const { k, host, pod } = node();
  const before = k.linkByName(host, "ibp59s0f0v1")!;
  k.moveDevice(host, "mlx5_2", pod);
  assert.deepEqual(k.netdevs(VFS[1]!.pci), ["ib0"]);
  const after = k.linkByName(host, "ib0")!;
  assert.notEqual(after.index, before.index);
  assert.equal(after.up, false);

  k.setRdmaMoveRecreatesNetdev(false);
  k.moveDevice(pod, "mlx5_2", host);
  assert.deepEqual(k.linkByName(host, "ib0"), after);
});

Deno.test("FakeKernel.moveDevice() is refused in shared mode, where every namespace sees every device", () => {
  const { k, host, pod } = node();
  k.setRdmaMode("shared");
  assert.equal(k.netnsMode(), "shared");
  assert.deepEqual(k.devices(pod), ["mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"]);
  assert.throws(() => k.moveDevice(host, "mlx5_1", pod), (e: unknown) => {
    assert.ok(e instanceof NetlinkError);
    assert.equal(e.errnoName, "EOPNOTSUPP");
    assert.equal(e.message, "Operation not supported");
    return true;
  });
  assert.deepEqual(k.rdmaIn(HOST_NETNS), ["mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"]);
});

Deno.test("FakeKernel RDMA calls fail with EPROTONOSUPPORT without RDMA netlink", () => {
  const { k, host, pod } = node();
  k.setRdmaMode("unsupported");
  for (
    const fn of [
      () => k.netnsMode(),
      () => k.devices(host),
      () => k.moveDevice(host, "mlx5_1", pod),
    ]
  ) {
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof NetlinkError);
      assert.equal(e.errnoName, "EPROTONOSUPPORT");
      assert.equal(
        e.message,
        "the kernel has no RDMA netlink (NETLINK_RDMA is not a supported protocol); " +
          "load the ib_core module (modprobe ib_core)",
      );
      return true;
    });
  }
  // Sysfs still shows the devices: only the netlink side is missing.
  assert.deepEqual(k.rdmaDevices(VF0), ["mlx5_1"]);
});

Deno.test("FakeKernel.setRdmaMode() refuses to leave exclusive mode while a device is in a pod", () => {
  const { k, host, pod } = node();
  k.moveDevice(host, "mlx5_1", pod);
  assert.throws(() => k.setRdmaMode("shared"), /devices are outside the host/);
  assert.equal(k.netnsMode(), "exclusive");
});

Deno.test("FakeKernel.deleteNetns() returns the namespace's RDMA devices to the host", () => {
  const { k, host, pod } = node();
  k.moveDevice(host, "mlx5_1", pod);
  k.moveLink(host, k.linkByName(host, "ib0")!.index, pod);
  k.deleteNetns(POD);
  assert.deepEqual(k.rdmaDevices(VF0), ["mlx5_1"]);
  assert.deepEqual(k.rdmaIn(HOST_NETNS), ["mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"]);
  // The device's return recreated its netdev in the host, as ib_core's exit runs first.
  assert.equal(k.vfView(VF0).netns, HOST_NETNS);
  assert.deepEqual(k.netdevs(VF0), ["ib0"]);
});

Deno.test("FakeKernel.view() is the same after a GUID change undone and rebound with persistent names, and not without", () => {
  const { k, host, pf } = node();
  const before = k.view();
  const original = k.vfSettings(host, pf, 0)!;
  k.setVf(host, pf, 0, { ...NEW, linkState: "enable" });
  rebind(k, VF0);
  k.setVf(host, pf, 0, {
    nodeGuid: original.nodeGuid!,
    portGuid: original.portGuid!,
    linkState: original.linkState!,
  });
  rebind(k, VF0);
  assert.notDeepEqual(k.view(), before, "the kernel's ib0 is not the VF's name");
  assert.equal(k.view().vfs[VF0]!.netdev, "ib0");

  k.setUdevRename("persistent");
  rebind(k, VF0);
  assert.deepEqual(k.view(), before);
  assert.notDeepEqual(k.snapshot(), node().k.snapshot(), "the ifindex changed");
});

Deno.test("FakeKernel counts setVf, unbind, bind and moveDevice as fault steps with readable labels", () => {
  const { k, host, pod, pf } = node();
  k.setVf(host, pf, 0, { ...NEW, linkState: "enable" });
  k.unbind(VF0, "mlx5_core");
  k.bind(VF0, "mlx5_core");
  k.moveDevice(host, "mlx5_4", pod);
  assert.deepEqual(k.faults.log, [
    `set vf 0 link_state enable node_guid ${NEW.nodeGuid} port_guid ${NEW.portGuid} via ibp59s0f0 in ${HOST_NETNS}`,
    "unbind 0000:3b:00.1 from mlx5_core",
    "bind 0000:3b:00.1 to mlx5_core",
    `move rdma mlx5_4 from ${HOST_NETNS} to ${POD}`,
  ]);
  assert.deepEqual(k.faults.count, 4);
});

Deno.test("FakeKernel fails each new mutator at its fault step and changes nothing", () => {
  const ops: [string, (k: FakeKernel, host: Netns, pod: Netns, pf: number) => void][] = [
    ["setVf", (k, host, _pod, pf) => k.setVf(host, pf, 0, { ...NEW, linkState: "enable" })],
    ["unbind", (k) => k.unbind(VF0, "mlx5_core")],
    ["bind", (k) => k.bind(VF0, "mlx5_core")],
    ["moveDevice", (k, host, pod) => k.moveDevice(host, "mlx5_1", pod)],
    ["setMtu", (k, host) => k.setMtu(host, k.linkByName(host, VFS[0]!.netdev)!.index, 2044)],
    ["addAltName", (k, host) => k.addAltName(host, k.linkByName(host, VFS[0]!.netdev)!.index, "a")],
  ];
  for (const [name, op] of ops) {
    const { k, host, pod, pf } = node();
    if (name === "bind") k.setDriver(VF0, null);
    const before = [k.view(), k.snapshot(), k.rdmaIn(HOST_NETNS)];
    k.faults.failAt = 1;
    assert.throws(() => op(k, host, pod, pf), (e: unknown) => {
      assert.ok(e instanceof InjectedFault, `${name}: ${String(e)}`);
      assert.match(e.message, /^injected fault at step 1: /);
      return true;
    });
    assert.deepEqual([k.view(), k.snapshot(), k.rdmaIn(HOST_NETNS)], before, name);
  }
});

Deno.test("FakeKernel.setMtu() sets a netdev's MTU within 68 to 65535 and keeps it across a netns move", () => {
  const { k, host, pod } = node();
  const index = k.linkByName(host, VFS[0]!.netdev)!.index;
  k.setMtu(host, index, 2044);
  assert.equal(k.vfView(VF0).mtu, 2044);
  assertThrows(() => k.setMtu(host, index, 67), KernelError, "set mtu 67: EINVAL");
  assertThrows(() => k.setMtu(host, index, 65536), KernelError, "set mtu 65536: EINVAL");
  k.moveLink(host, index, pod);
  assert.equal(k.linkByName(pod, VFS[0]!.netdev)!.mtu, 2044);
  assert.deepEqual(k.faults.log.slice(0, 1), [`set mtu of ibp59s0f0v0 to 2044 in ${HOST_NETNS}`]);
});

Deno.test("FakeKernel altnames: found by linkByName(), unique per netns, and block a move where taken", () => {
  const { k, host, pod } = node();
  const index = k.linkByName(host, VFS[0]!.netdev)!.index;
  k.addAltName(host, index, "enp59s0f0v0");
  assert.equal(k.linkByName(host, "enp59s0f0v0")!.index, index);
  assert.deepEqual(k.vfView(VF0).altNames, ["enp59s0f0v0"]);
  assertThrows(
    () => k.addAltName(host, index, VFS[1]!.netdev),
    KernelError,
    `add altname ${VFS[1]!.netdev}: EEXIST`,
  );
  k.addLink(POD, { name: "enp59s0f0v0", mtu: 1500, address: "02:00:00:00:00:01", up: false });
  assertThrows(() => k.moveLink(host, index, pod), KernelError, "move ibp59s0f0v0: EEXIST");
  assert.equal(k.vfView(VF0).netns, HOST_NETNS);
});

Deno.test("FakeKernel.moveLink() with a name moves and renames in one step, as the kernel does", () => {
  const { k, host, pod } = node();
  const index = k.linkByName(host, VFS[0]!.netdev)!.index;
  k.moveLink(host, index, pod, "net1");
  assert.equal(k.linkByName(pod, "net1")!.index, index);
  assert.equal(k.linkByName(host, VFS[0]!.netdev), null);
  assert.deepEqual(k.faults.log, [`move ibp59s0f0v0 from ${HOST_NETNS} to ${POD} as net1`]);
});

Deno.test("FakeKernel.moveLink() with a name taken in the target leaves the link moved under its old name", () => {
  const { k, host, pod } = node();
  const index = k.linkByName(host, VFS[0]!.netdev)!.index;
  k.addLink(POD, { name: "net1", mtu: 1500, address: "02:00:00:00:00:01", up: false });
  assertThrows(
    () => k.moveLink(host, index, pod, "net1"),
    KernelError,
    "rename ibp59s0f0v0 to net1: EEXIST",
  );
  assert.equal(k.vfView(VF0).netns, POD);
  assert.equal(k.linkByName(pod, VFS[0]!.netdev)!.index, index);
});

Deno.test("FakeKernel.moveLink() with its own name and the new one taken in the target moves nothing", () => {
  const { k, host, pod } = node();
  const index = k.linkByName(host, VFS[0]!.netdev)!.index;
  k.addLink(POD, { name: VFS[0]!.netdev, mtu: 1500, address: "02:00:00:00:00:01", up: false });
  k.addLink(POD, { name: "net1", mtu: 1500, address: "02:00:00:00:00:02", up: false });
  assertThrows(() => k.moveLink(host, index, pod, "net1"), KernelError, "move ibp59s0f0v0: EEXIST");
  assert.equal(k.vfView(VF0).netns, HOST_NETNS);
  assert.equal(k.linkByName(host, VFS[0]!.netdev)!.index, index);
});
