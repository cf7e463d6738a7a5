import assert from "node:assert/strict";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { LibcSysfs } from "../../lib/sysfs/libc_sysfs.ts";
import {
  createSimulation,
  type LinkView,
  simConfig,
  simConfigV6,
  SimulationError,
  sweepLeftovers,
} from "./sim.ts";

const notRoot = Deno.uid() !== 0;

/** Runs `ip` and fails the test when it fails. */
async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  assert.equal(out.code, 0, `ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

function names(links: LinkView[]): string[] {
  return links.map((l) => l.name);
}

Deno.test({
  name: "createSimulation() builds a PCI tree that LibcSysfs reads as one PF with its VFs",
  ignore: notRoot,
  async fn() {
    await using sim = await createSimulation({ vfs: 3 });
    const sysfs = new LibcSysfs({ root: sim.dir });

    assert.equal(sysfs.deviceExists(sim.pf.pci), true);
    assert.equal(sysfs.physfn(sim.pf.pci), null);
    assert.deepEqual(sysfs.netdevs(sim.pf.pci), [sim.pf.netdev]);
    assert.equal(sysfs.driver(sim.pf.pci), "mlx5_core");
    assert.deepEqual(sim.vfs.map((vf) => vf.pci), ["0000:3b:00.1", "0000:3b:00.2", "0000:3b:00.3"]);
    for (const vf of sim.vfs) {
      assert.equal(sysfs.deviceExists(vf.pci), true);
      assert.equal(sysfs.physfn(vf.pci), sim.pf.pci);
      assert.equal(sysfs.vfIndex(sim.pf.pci, vf.pci), vf.index);
      assert.deepEqual(sysfs.netdevs(vf.pci), [vf.netdev]);
      assert.equal(sysfs.driver(vf.pci), "mlx5_core");
      assert.deepEqual(sysfs.rdmaDevices(vf.pci), [vf.rdmaDevice]);
      assert.equal(sysfs.rdmaNodeGuid(vf.pci, vf.rdmaDevice), vf.nodeGuid);
    }
  },
});

Deno.test({
  name: "createSimulation() backs every netdev of the tree with a real host link",
  ignore: notRoot,
  async fn() {
    await using sim = await createSimulation({ vfs: 2 });
    const p = sim.linkPrefix;

    const host = await sim.hostLinks();
    assert.deepEqual(names(host), [`${p}pf0`, `${p}vf0`, `${p}vf0p`, `${p}vf1`, `${p}vf1p`]);
    assert.deepEqual(host.map((l) => [l.kind, l.up]), [
      ["bridge", true],
      ["veth", false],
      ["veth", false],
      ["veth", false],
      ["veth", false],
    ]);
    assert.deepEqual(names(await sim.podLinks()), ["lo"]);
    assert.equal(sim.podNetnsPath, `/var/run/netns/ibsim-pod-${sim.suffix}`);
    assert.ok(p.length + "vf99p".length <= 15, "link names must fit IFNAMSIZ");
  },
});

Deno.test("createSimulation() rejects a VF count outside 1 to 99", async () => {
  await assert.rejects(
    createSimulation({ vfs: 100 }),
    (err: unknown) =>
      err instanceof RangeError &&
      err.message === "Cannot simulate 100 VFs: expected an integer from 1 to 99",
  );
});

Deno.test({
  name: "runPlugin() runs the command with the tree mounted and the CNI environment set",
  ignore: notRoot,
  async fn() {
    await using sim = await createSimulation({ vfs: 2 });
    const vf = sim.vfs[1]!;
    const dev = `/sys/bus/pci/devices/${vf.pci}`;
    const script = [
      `readlink ${dev}/physfn`,
      `readlink ${dev}/driver`,
      `ls ${dev}/net`,
      `cat ${dev}/infiniband/${vf.rdmaDevice}/node_guid`,
      `test -e ${sim.podNetnsPath} && echo netns-visible`,
      `env | grep '^CNI_' | sort`,
      `cat`,
    ].join("; ");

    const run = await sim.runPlugin({
      command: "ADD",
      config: simConfig(sim, { deviceID: vf.pci }),
      ifname: "ib7",
      cniArgs: "IgnoreUnknown=true",
      pluginArgv: ["sh", "-c", script],
    });

    assert.equal(run.stderr, "");
    assert.equal(run.code, 0);
    assert.equal(
      run.stdout,
      [
        `../${sim.pf.pci}`,
        "../../drivers/mlx5_core",
        vf.netdev,
        vf.nodeGuid,
        "netns-visible",
        "CNI_ARGS=IgnoreUnknown=true",
        "CNI_COMMAND=ADD",
        `CNI_CONTAINERID=ibsim-${sim.suffix}-container`,
        "CNI_IFNAME=ib7",
        `CNI_NETNS=${sim.podNetnsPath}`,
        "CNI_PATH=/usr/lib/cni",
        JSON.stringify(simConfig(sim, { deviceID: vf.pci })),
      ].join("\n"),
    );
    // The mount was the child's alone: this host has no such PCI device.
    await assert.rejects(Deno.lstat(dev), Deno.errors.NotFound);
  },
});

Deno.test({
  name: "runPlugin() keeps the plugin's cache and lock dirs from one run to the next",
  ignore: notRoot,
  async fn() {
    await using sim = await createSimulation({ vfs: 1 });
    const file = `ibsim-test-${sim.suffix}`;

    const write = await sim.runPlugin({
      command: "ADD",
      pluginArgv: [
        "sh",
        "-c",
        `echo cached > /var/lib/cni/ib-sriov/${file} && : > /var/run/cni/ib-sriov/${file}.lock`,
      ],
    });
    const read = await sim.runPlugin({
      command: "DEL",
      pluginArgv: ["sh", "-c", `cat /var/lib/cni/ib-sriov/${file}; ls /var/run/cni/ib-sriov`],
    });

    assert.equal(write.code, 0, write.stderr);
    assert.equal(read.stdout, `cached\n${file}.lock\n`);
    assert.deepEqual((await sim.snapshot()).stateFiles, {
      [`cache/${file}`]: "cached\n",
      [`run/${file}.lock`]: "",
    });
    // The host's own dirs never saw them.
    await assert.rejects(Deno.lstat(`/var/lib/cni/ib-sriov/${file}`), Deno.errors.NotFound);
  },
});

Deno.test({
  name: "runPlugin() returns the exit status, the output and stdout parsed as JSON",
  ignore: notRoot,
  async fn() {
    await using sim = await createSimulation({ vfs: 1 });

    const failed = await sim.runPlugin({
      command: "ADD",
      netns: null,
      pluginArgv: [
        "sh",
        "-c",
        `echo '{"code":7,"msg":"bad"}'; echo "netns=\${CNI_NETNS-unset}" >&2; exit 3`,
      ],
    });
    const notJson = await sim.runPlugin({ command: "VERSION", pluginArgv: ["echo", "hello"] });

    assert.deepEqual(failed, {
      code: 3,
      stdout: '{"code":7,"msg":"bad"}\n',
      stderr: "netns=unset\n",
      json: { code: 7, msg: "bad" },
    });
    assert.deepEqual(notJson, { code: 0, stdout: "hello\n", stderr: "", json: null });
  },
});

Deno.test({
  name: "runPlugin() reports a missing bundle as a SimulationError",
  ignore: notRoot,
  async fn() {
    await using sim = await createSimulation({ vfs: 1 });
    const bundle = join(sim.dir, "no-such-bundle.js");

    await assert.rejects(
      sim.runPlugin({ command: "ADD", config: simConfig(sim), bundle }),
      (err: unknown) =>
        err instanceof SimulationError && err.code === "setup-failed" &&
        err.message ===
          `Cannot run the plugin bundle "${bundle}": not found (run "make bundle", or pass pluginArgv)`,
    );
  },
});

Deno.test({
  name: "runPlugin() runs Debian's host-local with simConfig() and snapshot() sees its leases",
  ignore: notRoot,
  async fn(t) {
    await using sim = await createSimulation({ vfs: 1 });
    const cases = [
      { config: simConfig(sim), address: "10.56.217.2/24", lease: "ib-sim/10.56.217.2" },
      { config: simConfigV6(sim), address: "fd00:56:217::2/64", lease: "ib-sim-v6/fd00:56:217::2" },
    ];
    for (const { config, address, lease } of cases) {
      await t.step(`${address}: ADD, then DEL`, async () => {
        const hostLocal = ["/usr/lib/cni/host-local"];

        const add = await sim.runPlugin({ command: "ADD", config, pluginArgv: hostLocal });
        assert.equal(add.code, 0, add.stdout + add.stderr);
        assert.equal((add.json as { ips: { address: string }[] }).ips[0]?.address, address);
        assert.deepEqual((await sim.snapshot()).ipamLeases, {
          [lease]: `${sim.containerId}\r\nnet1`,
        });

        const del = await sim.runPlugin({ command: "DEL", config, pluginArgv: hostLocal });
        assert.equal(del.code, 0, del.stdout + del.stderr);
        assert.deepEqual((await sim.snapshot()).ipamLeases, {});
      });
    }
  },
});

Deno.test({
  name: "snapshot() shows a VF moved into the pod and equals the first once the VF is back",
  ignore: notRoot,
  async fn() {
    await using sim = await createSimulation({ vfs: 2 });
    const vf = sim.vfs[0]!;
    const before = await sim.snapshot();

    await ip("link", "set", vf.netdev, "netns", sim.podNetns);
    await ip("-n", sim.podNetns, "link", "set", vf.netdev, "name", "net1");
    await ip("-n", sim.podNetns, "addr", "add", "10.56.217.5/24", "dev", "net1");
    await ip("-n", sim.podNetns, "link", "set", "net1", "up");
    const inPod = await sim.snapshot();
    await ip("-n", sim.podNetns, "link", "set", "net1", "down");
    await ip("-n", sim.podNetns, "link", "set", "net1", "name", vf.netdev);
    await ip("-n", sim.podNetns, "link", "set", vf.netdev, "netns", "1");
    const after = await sim.snapshot();

    assert.deepEqual(
      names(inPod.hostLinks),
      names(before.hostLinks).filter((n) => n !== vf.netdev),
    );
    assert.deepEqual(
      inPod.podLinks.map((l) => [l.name, l.up, l.addresses]),
      [["lo", false, []], ["net1", true, ["10.56.217.5/24"]]],
    );
    assert.deepEqual(inPod.podRoutes, ["10.56.217.0/24 dev net1"]);
    assert.deepEqual(after, before);
  },
});

Deno.test({
  name: "hostLinks() finds a VF that came back to the host under another name",
  ignore: notRoot,
  async fn() {
    await using sim = await createSimulation({ vfs: 1 });
    const renamed = `ibx${sim.suffix}leak`;

    await ip("link", "set", sim.vfs[0]!.netdev, "name", renamed);

    assert.ok(names(await sim.hostLinks()).includes(renamed));
    await sim.cleanup();
    assert.deepEqual(await sim.residue(), { links: [], netns: [], dirs: [], mounts: [] });
    const leaked = await new Deno.Command("ip", { args: ["link", "show", renamed] }).output();
    assert.equal(leaked.code, 1, "the renamed VF must go with its peer");
  },
});

Deno.test({
  name: "cleanup() leaves no link, netns, mount or dir behind, and can run twice",
  ignore: notRoot,
  async fn() {
    const sim = await createSimulation({ vfs: 2 });
    await sim.runPlugin({ command: "ADD", pluginArgv: ["true"] });
    // A VF the plugin left in the pod under the pod's name, addressed and up.
    await ip("link", "set", sim.vfs[1]!.netdev, "netns", sim.podNetns);
    await ip("-n", sim.podNetns, "link", "set", sim.vfs[1]!.netdev, "name", "net1");
    await ip("-n", sim.podNetns, "addr", "add", "10.56.217.9/24", "dev", "net1");
    await ip("-n", sim.podNetns, "link", "set", "net1", "up");
    const residue = await sim.residue();
    assert.equal(residue.links.length, 4);
    assert.equal(residue.dirs.length, 2);

    await sim.cleanup();
    await sim.cleanup();

    assert.deepEqual(await sim.residue(), { links: [], netns: [], dirs: [], mounts: [] });
    for (const dir of residue.dirs) {
      await assert.rejects(Deno.lstat(dir), Deno.errors.NotFound);
    }
  },
});

Deno.test({
  name: "sweepLeftovers() removes what a dead run left and keeps a live simulation's",
  ignore: notRoot,
  async fn() {
    await using live = await createSimulation({ vfs: 1 });
    const liveResidue = await live.residue();
    // A crashed run: its owner PID is a process that has exited.
    const dead = new Deno.Command("true").spawn();
    await dead.status;
    // A suffix of its own (mkdir fails on one in use), so parallel test runs do not meet.
    let suffix = "";
    let dir = "";
    while (dir === "") {
      suffix = crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16).padStart(4, "0");
      dir = join(tmpdir(), `ibsim-${suffix}`);
      await Deno.mkdir(dir).catch((err) => {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
        dir = "";
      });
    }
    await Deno.writeTextFile(join(dir, "owner.pid"), `${dead.pid}\n`);
    await ip("link", "add", `ibsim${suffix}pf0`, "type", "bridge");
    await ip(
      "link",
      "add",
      `ibsim${suffix}vf0`,
      "type",
      "veth",
      "peer",
      "name",
      `ibsim${suffix}vf0p`,
    );
    await ip("netns", "add", `ibsim-pod-${suffix}`);
    await ip("link", "set", `ibsim${suffix}vf0`, "netns", `ibsim-pod-${suffix}`);

    const report = await sweepLeftovers();

    assert.ok(report.links.includes(`ibsim${suffix}pf0`), JSON.stringify(report));
    assert.ok(report.links.includes(`ibsim${suffix}vf0p`), JSON.stringify(report));
    assert.ok(report.netns.includes(`ibsim-pod-${suffix}`), JSON.stringify(report));
    assert.ok(report.dirs.includes(dir), JSON.stringify(report));
    assert.ok(!report.links.some((n) => n.startsWith(live.linkPrefix)), JSON.stringify(report));
    assert.deepEqual(await live.residue(), liveResidue);
    await assert.rejects(Deno.lstat(dir), Deno.errors.NotFound);
  },
});

Deno.test("simConfig() names the first VF and keeps host-local's leases in the simulation", () => {
  const sim = {
    vfs: [{ index: 0, pci: "0000:3b:00.1", netdev: "v0", peer: "v0p", rdmaDevice: "mlx5_1" }]
      .map((vf) => ({ ...vf, nodeGuid: "0200:0000:0000:0001" })),
    ipamDataDir: "/tmp/ibsim-test/ipam",
  };

  assert.deepEqual(simConfig(sim, { cniVersion: "0.4.0" }), {
    cniVersion: "0.4.0",
    name: "ib-sim",
    type: "ib-sriov",
    deviceID: "0000:3b:00.1",
    ipam: {
      type: "host-local",
      subnet: "10.56.217.0/24",
      gateway: "10.56.217.1",
      dataDir: "/tmp/ibsim-test/ipam",
      routes: [{ dst: "0.0.0.0/0" }],
    },
  });
  assert.deepEqual(simConfigV6(sim).ipam, {
    type: "host-local",
    subnet: "fd00:56:217::/64",
    gateway: "fd00:56:217::1",
    dataDir: "/tmp/ibsim-test/ipam",
    routes: [{ dst: "::/0" }],
  });
});
