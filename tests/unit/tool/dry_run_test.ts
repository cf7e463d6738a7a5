import assert from "node:assert/strict";
import { join } from "node:path";
import { FileStore } from "../../../lib/state/file_store.ts";
import type { NetdevVfRecord, VfioVfRecord } from "../../../lib/state/store.ts";
import { runTool } from "../../../lib/tool/main.ts";
import { buildNodeTree, NODE } from "./_node_tree.ts";
import { fixture, testIo } from "./_tool_io.ts";

const tree = await buildNodeTree();
const dryRun = (...args: string[]) => ["dry-run", "--sysfs-root", tree.root, ...args];
const delRun = (...args: string[]) => dryRun("--command", "DEL", "--container-id", "c1", ...args);

Deno.test.afterAll(() => tree.cleanup());

/** The text after the device section: what ADD changes, and why it fails. */
function changes(stdout: string): string {
  return stdout.slice(stdout.indexOf("ADD changes:"));
}

/** A test I/O whose files include `name`, holding `config`. */
function withConfig(name: string, config: Record<string, unknown>) {
  const t = testIo();
  const readFile = t.io.readFile;
  t.io.readFile = (path) =>
    path === name
      ? Promise.resolve(new TextEncoder().encode(JSON.stringify(config)))
      : readFile(path);
  return t;
}

/** A state store in a temp dir, removed after `fn`. */
async function withStore(fn: (store: FileStore, cacheDir: string) => Promise<void>): Promise<void> {
  const cacheDir = await Deno.makeTempDir();
  try {
    using store = new FileStore({ cacheDir, runDir: cacheDir });
    await fn(store, cacheDir);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
}

const FULL_CONFIG = JSON.parse(await Deno.readTextFile(fixture("ib-net-full.json")));

/** What ADD records of VF 0000:3b:00.2 with ib-net-full.json, in container c1. */
const FULL_RECORD: NetdevVfRecord = {
  kind: "vf",
  version: 1,
  phase: "attached",
  containerId: "c1",
  ifname: "net1",
  netns: "/var/run/netns/pod-a",
  networkName: "ib-net-full",
  cniVersion: "1.0.0",
  deviceId: NODE.vf,
  ipamType: "host-local",
  config: { ...FULL_CONFIG, deviceID: NODE.vf },
  pfName: "ibp59s0f0",
  vfIndex: 1,
  driver: "mlx5_core",
  hostIfName: "ibp59s0f2",
  hostIfAddress: "00:00:10:87:fe:80:00:00:00:00:00:00:02:00:00:00:00:00:00:02",
  hostIfUp: true,
  hostIfMtu: 2044,
  hostIfAltNames: ["enp59s0f0v1"],
  tempIfName: "vfdev12",
  rdmaDevice: "mlx5_2",
  original: {
    nodeGuid: "02:00:00:00:00:00:00:02",
    portGuid: "02:00:00:00:00:00:00:02",
    linkState: "auto",
  },
};

Deno.test("runTool() dry-run prints the device and what ADD changes on it, from the recorded ConnectX-6 tree", async () => {
  const t = testIo();
  const status = await runTool(
    dryRun("--device-id", NODE.vf, "--netns", "/var/run/netns/pod-a", "ib-net-full.json"),
    t.io,
  );
  assert.equal(
    t.stdout(),
    `device    0000:3b:00.2: VF
PF        0000:3b:00.0 (netdev ibp59s0f0), VF index 1
netdev    ibp59s0f2
driver    mlx5_core
RDMA      mlx5_2
node GUID 02:00:00:00:00:00:00:02
network   "ib-net-full" (cniVersion 1.0.0), CNI_IFNAME net1, CNI_NETNS /var/run/netns/pod-a

ADD changes:
  GUID        node and port 02:00:00:00:00:00:00:2a (from guid) through PF ibp59s0f0 VF 1, then rebinds the VF to mlx5_core, which recreates its netdev and RDMA device
  link_state  enable through PF ibp59s0f0 VF 1
  RDMA        the VF's RDMA device into the pod (/var/run/netns/pod-a); ADD refuses unless the RDMA netns mode is exclusive
  netdev      the VF's netdev into the pod (/var/run/netns/pod-a) as net1, set up
  IPAM        host-local
  device-info none
note: a GUID or link state the VF has already is not set again (nor rebound); the PF knows, dry-run does not ask it
`,
  );
  assert.equal(t.stderr(), "");
  assert.equal(status, 0);
});

Deno.test("runTool() dry-run prints a warning, then what ADD changes for a config that asks for nothing: the netdev into the pod, set up, without IPAM", async () => {
  const t = testIo();
  const status = await runTool(dryRun("--device-id", NODE.vf, "ib-logfile.json"), t.io);
  const lines = t.stdout().split("\n");
  assert.equal(
    lines[0],
    'ib-logfile.json: warning: logFile: logFile "/tmp/sriov.log" is ignored: must be beneath ' +
      '"/var/log/ib-sriov/" or relative to it; records go to stderr',
  );
  assert.equal(lines[1], "device    0000:3b:00.2: VF");
  assert.equal(
    changes(t.stdout()),
    `ADD changes:
  GUID        none given: the VF keeps its own, which must be assigned
  link_state  none given
  RDMA        stays in the host
  netdev      the VF's netdev into the pod (/var/run/netns/<pod>) as net1, set up
  IPAM        none
  device-info none
`,
  );
  assert.equal(status, 0);
});

Deno.test("runTool() dry-run of a NAD says, in the handler's words, that ADD fails on a VF whose GUID is unset", async () => {
  const t = testIo();
  const status = await runTool(dryRun("--device-id", NODE.zeroGuidVf, "nad.json"), t.io);
  assert.match(t.stdout(), /^node GUID 00:00:00:00:00:00:00:00$/m);
  assert.ok(
    t.stdout().endsWith(
      '\n  device-info none\n\nADD would fail: deviceID "0000:3b:00.3": the VF\'s GUID is ' +
        '"00:00:00:00:00:00:00:00", which is not an assigned GUID, and the config requests none ' +
        "(give the VF a GUID: runtimeConfig.infinibandGUID (capability infinibandGUID) or " +
        "args.cni.guid in the pod's network annotation, or set ibKubernetesEnabled and let " +
        "ib-kubernetes assign one; or assign GUIDs to every VF when SR-IOV is configured)\n",
    ),
    t.stdout(),
  );
  assert.equal(status, 1);
});

Deno.test("runTool() dry-run says ADD fails on a VF whose GUID is all ones, and not once a GUID is given", async () => {
  const ones = await buildNodeTree();
  try {
    const guidFile = join(
      ones.root,
      `sys/bus/pci/devices/${NODE.zeroGuidVf}/infiniband/mlx5_3/node_guid`,
    );
    await Deno.writeTextFile(guidFile, "ffff:ffff:ffff:ffff\n");
    const run = (file: string, t: ReturnType<typeof testIo>) =>
      runTool(["dry-run", "--sysfs-root", ones.root, "--device-id", NODE.zeroGuidVf, file], t.io);
    const unset = testIo();
    assert.equal(await run("ib-net.json", unset), 1);
    assert.match(
      unset.stdout(),
      /\nADD would fail: deviceID "0000:3b:00\.3": the VF's GUID is "ff:ff:ff:ff:ff:ff:ff:ff", which is not an assigned GUID, and the config requests none \(give the VF a GUID: /,
    );
    const given = withConfig("given.json", {
      cniVersion: "1.0.0",
      name: "ib-net",
      type: "ib-sriov",
      runtimeConfig: { infinibandGUID: "02:00:00:00:00:00:00:07" },
    });
    assert.equal(await run("given.json", given), 0);
    assert.match(
      given.stdout(),
      /^ {2}GUID {8}node and port 02:00:00:00:00:00:00:07 \(from runtimeConfig\.infinibandGUID\) through PF ibp59s0f0 VF 2, then rebinds/m,
    );
    assert.doesNotMatch(given.stdout(), /ADD would fail/);
  } finally {
    await ones.cleanup();
  }
});

Deno.test("runTool() dry-run says ADD waits for ib-kubernetes, with the handler's error, and exits 1", async () => {
  const t = withConfig("ibk8s.json", {
    cniVersion: "1.0.0",
    name: "ib-net",
    type: "ib-sriov",
    ibKubernetesEnabled: true,
  });
  assert.equal(await runTool(dryRun("--device-id", NODE.vf, "ibk8s.json"), t.io), 1);
  assert.ok(
    t.stdout().endsWith(
      '\nADD would fail: args.cni["mellanox.infiniband.app"] is null, not "configured": ' +
        "ib-kubernetes has not yet added the pod's GUID to the partition (ibKubernetesEnabled " +
        "is true; the runtime retries until ib-kubernetes sets the annotation)\n",
    ),
    t.stdout(),
  );
  const ready = withConfig("ibk8s.json", {
    cniVersion: "1.0.0",
    name: "ib-net",
    type: "ib-sriov",
    ibKubernetesEnabled: true,
    args: { cni: { "mellanox.infiniband.app": "configured" } },
  });
  assert.equal(await runTool(dryRun("--device-id", NODE.vf, "ibk8s.json"), ready.io), 1);
  assert.match(
    ready.stdout(),
    /\nADD would fail: ibKubernetesEnabled is true but no GUID was given \(runtimeConfig\.infinibandGUID or args\.cni\.guid\): ib-kubernetes must assign the VF's GUID \(/,
  );
});

Deno.test("runTool() dry-run of a vfio-pci VF sets the GUID without a rebind, and moves no netdev", async () => {
  const t = testIo();
  const status = await runTool(dryRun("--device-id", NODE.vfioVf, "ib-vfio.json"), t.io);
  assert.match(
    t.stdout(),
    /^device {4}0000:3b:00\.4: VF \(vfio-pci\)\nPF {8}0000:3b:00\.0 \(netdev ibp59s0f0\), VF index 3\ndriver {4}vfio-pci\nRDMA {6}none\nnode GUID unknown\n/,
  );
  assert.equal(
    changes(t.stdout()),
    `ADD changes:
  GUID        node and port 02:00:00:00:00:00:00:2b (from guid) through PF ibp59s0f0 VF 3
  link_state  enable through PF ibp59s0f0 VF 3
  PCI device  the pod gets it whole: no netdev, no IPAM
  device-info none
note: a GUID or link state the VF has already is not set again (nor rebound); the PF knows, dry-run does not ask it
`,
  );
  assert.equal(status, 0);
});

Deno.test("runTool() dry-run of a PF bound to vfio-pci changes nothing on it and names the settings it ignores", async () => {
  const t = testIo();
  const status = await runTool(dryRun("--device-id", NODE.vfioPf, "ib-vfio.json"), t.io);
  assert.equal(
    t.stdout(),
    `device    0000:5e:00.0: PF (vfio-pci)
driver    vfio-pci
network   "ib-vfio" (cniVersion 1.0.0), CNI_IFNAME net1, CNI_NETNS /var/run/netns/<pod>

ADD changes:
  nothing on the PF: the pod gets it whole
  ignored     guid, link_state (logged)
  device-info none
`,
  );
  assert.equal(status, 0);
});

Deno.test("runTool() dry-run names the device problem and exits 1", async () => {
  const cases: [string, string, RegExp][] = [
    ["0000:3b:1f.7", "ib-net.json", /^deviceID "0000:3b:1f\.7": no such PCI device/],
    [NODE.pf, "ib-net.json", /^deviceID "0000:3b:00\.0" is not an SR-IOV virtual function/],
    [
      NODE.vf,
      "ib-vfio.json",
      /^vfioPciMode is true but deviceID "0000:3b:00\.2" is bound to "mlx5_core"/,
    ],
  ];
  for (const [pci, file, message] of cases) {
    const t = testIo();
    assert.equal(await runTool(dryRun("--device-id", pci, file), t.io), 1, pci);
    assert.match(t.stdout(), message);
  }
});

Deno.test("runTool() dry-run of a conflist with two ib-sriov plugins says it needs one and exits 1", async () => {
  const t = withConfig("two.conflist", {
    cniVersion: "1.0.0",
    name: "ib-chain",
    plugins: [{ type: "ib-sriov" }, { type: "ib-sriov" }],
  });
  assert.equal(await runTool(dryRun("--device-id", NODE.vf, "two.conflist"), t.io), 1);
  assert.equal(
    t.stdout(),
    'two.conflist: the conflist has 2 plugins of type "ib-sriov"; dry-run needs one\n',
  );
});

Deno.test("runTool() dry-run --command DEL without a record says DEL releases only what a conflist's ib-sriov entry names", async () => {
  const t = testIo();
  const status = await runTool(
    delRun("--device-id", NODE.vf, "--ifname", "ib0", "ib-net.conflist"),
    t.io,
  );
  assert.equal(
    t.stdout(),
    `network   "ib-chain" (cniVersion 1.0.0), CNI_CONTAINERID c1, CNI_IFNAME ib0

DEL, without an attachment record, releases only what the config names:
  IPAM        DEL with static
  claim       this attachment's on 0000:3b:00.2
`,
  );
  assert.equal(status, 0);
});

Deno.test("runTool() dry-run --command DEL says what DEL restores from the record: netdev, RDMA device, link state, GUIDs, MTU, altnames", async () => {
  await withStore(async (store) => {
    store.writeAttachment(FULL_RECORD);
    store.claimDevice(NODE.vf, { containerId: "c1", ifname: "net1", netns: FULL_RECORD.netns });
    const t = testIo({ store: () => store });
    assert.equal(await runTool(delRun("ib-net-full.json"), t.io), 0);
    assert.equal(
      t.stdout(),
      `network   "ib-net-full" (cniVersion 1.0.0), CNI_CONTAINERID c1, CNI_IFNAME net1

DEL, from the attachment record (phase attached):
  IPAM        DEL with host-local and this config
  netdev      net1 back to the host as ibp59s0f2, up
  RDMA        mlx5_2 back to the host
  link_state  back to auto through PF ibp59s0f0 VF 1
  GUID        back to node 02:00:00:00:00:00:00:02, port 02:00:00:00:00:00:00:02 through PF ibp59s0f0 VF 1, then rebinds the VF to mlx5_core
  MTU         back to 2044
  altnames    back: enp59s0f0v1, unless another link took one
  then        the record and this attachment's claim on 0000:3b:00.2 removed
`,
    );
  });
});

Deno.test("runTool() dry-run --command DEL releases the lease with the recorded config when the given one names another ipam, and takes the device from the record", async () => {
  await withStore(async (store) => {
    const record: VfioVfRecord = {
      kind: "vfio-vf",
      version: 1,
      phase: "adding",
      containerId: "c1",
      ifname: "net1",
      netns: "/var/run/netns/pod-a",
      networkName: "ib-chain",
      cniVersion: "1.0.0",
      deviceId: NODE.vfioVf,
      ipamType: "host-local",
      config: { name: "ib-chain", ipam: { type: "host-local", subnet: "10.0.0.0/24" } },
      pfName: "ibp59s0f0",
      vfIndex: 3,
      original: { nodeGuid: "ff:ff:ff:ff:ff:ff:ff:ff", portGuid: "ff:ff:ff:ff:ff:ff:ff:ff" },
    };
    store.writeAttachment(record);
    const t = testIo({ store: () => store });
    assert.equal(await runTool(delRun("ib-net.conflist"), t.io), 0);
    assert.equal(
      changesOfDel(t.stdout()),
      `DEL, from the attachment record (phase adding):
  IPAM        DEL with host-local and the config ADD recorded (this one differs)
  GUID        back to node ff:ff:ff:ff:ff:ff:ff:ff, port ff:ff:ff:ff:ff:ff:ff:ff through PF ibp59s0f0 VF 3
  then        the record and this attachment's claim on 0000:3b:00.4 removed
`,
    );
  });
});

/** The text from the DEL header on. */
function changesOfDel(stdout: string): string {
  return stdout.slice(stdout.indexOf("DEL, "));
}

Deno.test("runTool() dry-run --command DEL leaves a device that is gone or claimed by another attachment alone", async () => {
  await withStore(async (store) => {
    store.writeAttachment({ ...FULL_RECORD, deviceId: "0000:3b:1f.7" });
    const gone = testIo({ store: () => store });
    assert.equal(await runTool(delRun("ib-net-full.json"), gone.io), 0);
    assert.match(
      gone.stdout(),
      /\n {2}IPAM {8}DEL with host-local and this config\n {2}device {6}0000:3b:1f\.7 no longer exists: nothing to restore\n {2}then {8}the record and this attachment's claim on 0000:3b:1f\.7 removed\n$/,
    );
    store.writeAttachment(FULL_RECORD);
    store.claimDevice(NODE.vf, { containerId: "c2", ifname: "net1", netns: "/var/run/netns/b" });
    const taken = testIo({ store: () => store });
    assert.equal(await runTool(delRun("ib-net-full.json"), taken.io), 0);
    assert.match(
      taken.stdout(),
      /\n {2}device {6}0000:3b:00\.2 is claimed by c2\/net1: left alone\n {2}then /,
    );
  });
});

Deno.test("runTool() dry-run --command DEL completes a Go plugin cache from the config, as DEL does", async () => {
  await withStore(async (store, cacheDir) => {
    await Deno.writeTextFile(
      join(cacheDir, "c1-net1"),
      JSON.stringify({
        cniVersion: "1.0.0",
        name: "ib-net",
        type: "ib-sriov",
        Master: "ibp59s0f0",
        VFID: 1,
        HostIFNames: "ibp59s0f2",
        ContIFNames: "net1",
        HostIFGUID: "02:00:00:00:00:00:00:02",
        link_state: "enable",
      }),
    );
    const t = testIo({ store: () => store });
    assert.equal(await runTool(delRun("--device-id", NODE.vf, "ib-net.json"), t.io), 0);
    assert.equal(
      changesOfDel(t.stdout()),
      `DEL, from the attachment record (phase attached):
  IPAM        DEL with host-local and this config
  netdev      net1 back to the host as ibp59s0f2
  link_state  back to auto through PF ibp59s0f0 VF 1
  GUID        back to node 02:00:00:00:00:00:00:02, port 02:00:00:00:00:00:00:02 through PF ibp59s0f0 VF 1, then rebinds the VF to its driver
  then        the record and this attachment's claim on 0000:3b:00.2 removed
`,
    );
  });
});

Deno.test("runTool() dry-run --command DEL says DEL removes a corrupt record and goes on without it", async () => {
  await withStore(async (store, cacheDir) => {
    await Deno.writeTextFile(join(cacheDir, "c1-net1"), "{not json");
    const t = testIo({ store: () => store });
    assert.equal(await runTool(delRun("ib-net.json"), t.io), 0);
    assert.equal(
      changesOfDel(t.stdout()),
      `DEL, which removes the corrupt record (Cannot parse attachment record "${
        join(cacheDir, "c1-net1")
      }": not JSON), releases only what the config names:
  IPAM        DEL with host-local
  claim       none
`,
    );
    assert.equal(await Deno.readTextFile(join(cacheDir, "c1-net1")), "{not json");
  });
});

Deno.test("runTool() dry-run prints the violations of an invalid config and plans nothing", async () => {
  const t = testIo();
  const status = await runTool(dryRun("--device-id", NODE.vf, "ib-bad.json"), t.io);
  assert.equal(
    t.stdout(),
    'ib-bad.json: guid: guid "02:00:00:00:00:00:00" is not a valid GUID: must be 8 ' +
      "colon-separated hex bytes (xx:xx:xx:xx:xx:xx:xx:xx)\n" +
      'ib-bad.json: ipam.type: ipam.type "dhcp" is not supported: the VF has no carrier to run ' +
      "a DHCP client on; use host-local, static or whereabouts\n",
  );
  assert.equal(status, 1);
});

Deno.test("runTool() dry-run usage errors exit 2 and say what is wrong", async () => {
  const cases: [string[], string][] = [
    [
      dryRun("ib-net.json"),
      "ib-net.json: no deviceID: Multus sets it from the device plugin at run time; pass --device-id DDDD:BB:DD.F",
    ],
    [
      dryRun("--command", "CHECK", "ib-net.json"),
      'dry-run: --command must be ADD or DEL, got "CHECK"',
    ],
    [
      dryRun("--command", "DEL", "ib-net.json"),
      "dry-run: DEL needs --container-id: it works from that attachment's record",
    ],
    [dryRun(), "dry-run: name exactly one FILE"],
    [
      dryRun("--device-id", NODE.vf, "nads.yaml"),
      "nads.yaml: holds 2 configs; dry-run takes a file with one",
    ],
    [dryRun("--bogus", "ib-net.json"), "Unknown option '--bogus'"],
  ];
  for (const [argv, message] of cases) {
    const t = testIo({ validateConfig: () => [] });
    assert.equal(await runTool(argv, t.io), 2, argv.join(" "));
    assert.ok(t.stderr().startsWith(`ib-sriov dry-run: ${message}`), t.stderr());
    assert.equal(t.stdout(), "");
  }
});
