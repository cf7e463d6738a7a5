import assert from "node:assert/strict";
import { runTool } from "../../../lib/tool/main.ts";
import { buildNodeTree, NODE } from "./_node_tree.ts";
import { testIo } from "./_tool_io.ts";

const tree = await buildNodeTree();
const dryRun = (...args: string[]) => ["dry-run", "--sysfs-root", tree.root, ...args];

Deno.test.afterAll(() => tree.cleanup());

Deno.test("runTool() dry-run prints the device and the ADD plan from the recorded ConnectX-6 tree", async () => {
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

ADD plan:
   1. check that the RDMA subsystem's netns mode is exclusive
   2. lock VF 0000:3b:00.2 and claim it for the attachment
      undo: release the claim
   3. record the attachment with the VF's original GUIDs and link state
      undo: remove the record
   4. set link_state enable via PF ibp59s0f0 vf 1
      undo: restore the original link state
   5. set node and port GUID 02:00:00:00:00:00:00:2a via PF ibp59s0f0 vf 1 (from guid)
      undo: restore the original GUIDs (node GUID 02:00:00:00:00:00:00:02 now)
   6. rebind 0000:3b:00.2 to mlx5_core and wait for its netdev
      undo: rebind after the GUIDs are restored and rename the netdev back to ibp59s0f2
   7. move RDMA device mlx5_2 into the pod (/var/run/netns/pod-a)
      undo: move mlx5_2 back to the host
   8. move the VF's new netdev (ibp59s0f2 before the rebind) to /var/run/netns/pod-a as net1
      undo: move it back to the host as ibp59s0f2, restore its up/down state
   9. IPAM ADD with host-local
      undo: IPAM DEL with host-local
  10. add the addresses to net1, set it up, add the routes
      undo: none needed: they leave with the netdev
  11. mark the attachment attached
`,
  );
  assert.equal(t.stderr(), "");
  assert.equal(status, 0);
});

Deno.test("runTool() dry-run --command DEL prints the DEL plan of a conflist's ib-sriov entry", async () => {
  const t = testIo();
  const status = await runTool(
    dryRun("--command", "del", "--device-id", NODE.vf, "--ifname", "ib0", "ib-net.conflist"),
    t.io,
  );
  assert.match(t.stdout(), /^network {3}"ib-chain" \(cniVersion 1\.0\.0\), CNI_IFNAME ib0,/m);
  assert.match(
    t.stdout(),
    /\nDEL plan:\n {3}1\. read the attachment record .*\n {3}2\. IPAM DEL with static\n {3}3\. lock VF 0000:3b:00\.2\n {3}4\. move ib0 back/,
  );
  assert.match(t.stdout(), /restore the original link state via PF ibp59s0f0 vf 1\n/);
  assert.equal(status, 0);
});

Deno.test("runTool() dry-run prints a warning, then plans an empty ipam as no IPAM", async () => {
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
    t.stdout().slice(t.stdout().indexOf("ADD plan:")),
    `ADD plan:
   1. lock VF 0000:3b:00.2 and claim it for the attachment
      undo: release the claim
   2. record the attachment with the VF's original GUIDs and link state
      undo: remove the record
   3. move netdev ibp59s0f2 to /var/run/netns/<pod> as net1
      undo: move it back to the host as ibp59s0f2, restore its up/down state
   4. mark the attachment attached
`,
  );
  assert.equal(status, 0);
});

Deno.test("runTool() dry-run of a NAD says ADD fails on a VF whose GUID is unset", async () => {
  const t = testIo();
  const status = await runTool(dryRun("--device-id", NODE.zeroGuidVf, "nad.json"), t.io);
  assert.match(t.stdout(), /^node GUID 00:00:00:00:00:00:00:00$/m);
  assert.ok(
    t.stdout().endsWith(
      "\nADD will fail: no GUID is given and VF 0000:3b:00.3 has node GUID " +
        "00:00:00:00:00:00:00:00, which means unset; give one (guid, args.cni.guid or " +
        "runtimeConfig.infinibandGUID), or let ib-kubernetes assign one (ibKubernetesEnabled)\n",
    ),
    t.stdout(),
  );
  assert.equal(status, 1);
});

Deno.test("runTool() dry-run of a vfio-pci VF plans the GUID without a rebind", async () => {
  const t = testIo();
  const status = await runTool(dryRun("--device-id", NODE.vfioVf, "ib-vfio.json"), t.io);
  assert.match(
    t.stdout(),
    /^device {4}0000:3b:00\.4: VF \(vfio-pci\)\nPF {8}0000:3b:00\.0 \(netdev ibp59s0f0\), VF index 3\ndriver {4}vfio-pci\nRDMA {6}none\nnode GUID unknown\n/,
  );
  assert.deepEqual(
    [...t.stdout().matchAll(/^ +\d+\. (.*)$/gm)].map((m) => m[1]),
    [
      "lock VF 0000:3b:00.4 and claim it for the attachment",
      "record the attachment with the VF's original GUIDs and link state",
      "set link_state enable via PF ibp59s0f0 vf 3",
      "set node and port GUID 02:00:00:00:00:00:00:2b via PF ibp59s0f0 vf 3 (from guid)",
      "mark the attachment attached",
    ],
  );
  assert.equal(status, 0);
});

Deno.test("runTool() dry-run of a PF bound to vfio-pci is lock, record, done", async () => {
  const t = testIo();
  const status = await runTool(dryRun("--device-id", NODE.vfioPf, "ib-vfio.json"), t.io);
  assert.match(
    t.stdout(),
    /^device {4}0000:5e:00\.0: PF \(vfio-pci\)\ndriver {4}vfio-pci\nnetwork/,
  );
  assert.equal([...t.stdout().matchAll(/^ +\d+\. /gm)].length, 3);
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
