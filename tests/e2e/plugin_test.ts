/**
 * The plugin process itself (the bundle, `make bundle` first) on a simulated VF: fake PCI tree
 * bind-mounted over /sys/bus/pci/devices, veth links as VF netdevs, Debian's host-local IPAM,
 * a real pod netns. Root only.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createSimulation, type PluginRun, settled, simConfig, simConfigV6 } from "./sim.ts";

function ok(run: PluginRun, what: string): void {
  assert.equal(run.code, 0, `${what} failed: ${run.stdout}${run.stderr}`);
}

function cniError(run: PluginRun): { code: number; msg: string } {
  assert.equal(run.code, 1, `expected a failure, got ${run.stdout}`);
  assert.doesNotMatch(run.stderr, /\n\s+at .*:\d+:\d+/, "no stack trace");
  return run.json as { code: number; msg: string };
}

for (const cniVersion of ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]) {
  Deno.test(`plugin ADD, CHECK, DEL (cniVersion ${cniVersion}) attaches the VF and leaves the host as before`, async () => {
    await using sim = await createSimulation();
    const before = settled(await sim.snapshot());
    // Debian 12's host-local speaks CNI up to 1.0.0, so 1.1.0 runs without IPAM, which is
    // also the path where the result has an interface and no address.
    const config = cniVersion === "1.1.0"
      ? simConfig(sim, { cniVersion, ipam: undefined })
      : simConfig(sim, { cniVersion });
    const add = await sim.runPlugin({ command: "ADD", config });
    ok(add, "ADD");
    const result = add.json as Record<string, unknown> & {
      ips?: { address: string; version?: string }[];
    };
    assert.equal(result.cniVersion, cniVersion);
    if (cniVersion.startsWith("0.")) assert.equal(result.ips![0]!.version, "4");
    else assert.equal((result.interfaces as { pciID?: string }[])[0]!.pciID, sim.vfs[0]!.pci);
    const pod = await sim.podLinks();
    const net1 = pod.find((l) => l.name === "net1");
    assert.ok(net1 !== undefined, "net1 in the pod");
    assert.equal(net1.up, true);
    if (cniVersion === "1.1.0") {
      assert.equal(result.ips, undefined);
    } else {
      assert.match(result.ips![0]!.address, /^10\.56\.217\.\d+\/24$/);
      assert.deepEqual(net1.addresses.filter((a) => a.startsWith("10.")), [
        result.ips![0]!.address,
      ]);
      assert.ok(
        (await sim.podRoutes()).some((r) => r.startsWith("default via 10.56.217.1 dev net1")),
      );
    }
    assert.equal((await sim.hostLinks()).some((l) => l.name === sim.vfs[0]!.netdev), false);
    if (cniVersion !== "0.3.1") {
      ok(
        await sim.runPlugin({ command: "CHECK", config: { ...config, prevResult: result } }),
        "CHECK",
      );
    }
    ok(await sim.runPlugin({ command: "DEL", config: { ...config, prevResult: result } }), "DEL");
    assert.deepEqual(settled(await sim.snapshot()), before);
  });
}

Deno.test("plugin DEL succeeds when repeated", async () => {
  await using sim = await createSimulation();
  const config = simConfig(sim);
  ok(await sim.runPlugin({ command: "ADD", config }), "ADD");
  ok(await sim.runPlugin({ command: "DEL", config }), "DEL");
  const again = await sim.runPlugin({ command: "DEL", config });
  ok(again, "second DEL");
  assert.equal(again.stdout, "");
});

Deno.test("plugin DEL succeeds after the pod's netns is gone and forgets the attachment", async () => {
  await using sim = await createSimulation();
  const config = simConfig(sim);
  ok(await sim.runPlugin({ command: "ADD", config }), "ADD");
  const rm = await new Deno.Command("ip", { args: ["netns", "delete", sim.podNetns] }).output();
  assert.ok(rm.success);
  ok(await sim.runPlugin({ command: "DEL", config }), "DEL");
  // The veth pair died with the netns (a real VF would come back to the host); what is left
  // to check is that the record, the allocation and the lease are gone.
  const left = [];
  for await (const e of Deno.readDir(sim.stateCacheDir)) if (e.isFile) left.push(e.name);
  for await (const e of Deno.readDir(`${sim.stateCacheDir}/pci`)) left.push(`pci/${e.name}`);
  assert.deepEqual(left, []);
  const leases = [];
  for await (const e of Deno.readDir(`${sim.ipamDataDir}/ib-sim`)) {
    if (/^10\./.test(e.name)) leases.push(e.name);
  }
  assert.deepEqual(leases, []);
});

Deno.test("plugin refuses a second ADD of the same VF and leaves the first attachment intact", async () => {
  await using sim = await createSimulation();
  const config = simConfig(sim);
  ok(await sim.runPlugin({ command: "ADD", config }), "ADD");
  const after = settled(await sim.snapshot());
  const second = await sim.runPlugin({
    command: "ADD",
    config,
    containerId: "other-ctr",
    ifname: "net2",
  });
  const err = cniError(second);
  assert.equal(err.code, 100);
  assert.match(
    err.msg,
    /^device "0000:3b:00\.1" is already allocated to container "[^"]+" interface "net1"/,
  );
  assert.deepEqual(settled(await sim.snapshot()), after);
});

Deno.test("plugin rolls back when the IPAM plugin is missing, naming it", async () => {
  await using sim = await createSimulation();
  const before = settled(await sim.snapshot());
  const config = simConfig(sim, { ipam: { type: "no-such-ipam" } });
  const err = cniError(await sim.runPlugin({ command: "ADD", config }));
  assert.equal(err.code, 102);
  assert.match(err.msg, /no-such-ipam/);
  assert.deepEqual(settled(await sim.snapshot()), before);
});

Deno.test("plugin delegates IPAM with its whole environment and the delegated CNI_COMMAND, as libcni does", async () => {
  await using sim = await createSimulation();
  const before = settled(await sim.snapshot());
  // The recording plugin (tests/fixtures/ipam/record) notes its env and stdin beside itself,
  // then hands the config to the real host-local.
  const cniDir = await Deno.makeTempDir({ prefix: "ibsim-record-" });
  try {
    const recorder = join(cniDir, "record");
    await Deno.copyFile(new URL("../fixtures/ipam/record", import.meta.url), recorder);
    await Deno.chmod(recorder, 0o755);
    const base = simConfig(sim);
    const config = { ...base, ipam: { ...base.ipam as object, type: "record" } };
    const env = { SITE_IPAM_TOKEN: "a b=c;d", RECORD_IPAM_NEXT: "/usr/lib/cni/host-local" };
    const cniPath = `${cniDir}:/usr/lib/cni`;
    const add = await sim.runPlugin({ command: "ADD", config, cniPath, env });
    ok(add, "ADD");
    assert.match((add.json as { ips: { address: string }[] }).ips[0]!.address, /^10\.56\.217\./);
    ok(await sim.runPlugin({ command: "DEL", config, cniPath, env }), "DEL");
    for (const command of ["ADD", "DEL"]) {
      const recorded = new Map(
        (await Deno.readTextFile(`${recorder}.${command}.env`)).split("\0")
          .filter((entry) => entry !== "")
          .map((
            entry,
          ) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
      );
      const input = sim.pluginInput({ command, config, cniPath, env });
      for (const [name, value] of Object.entries(input.env)) {
        assert.equal(recorded.get(name), value, `${command}: ${name}`);
      }
      assert.deepEqual(
        JSON.parse(await Deno.readTextFile(`${recorder}.${command}.stdin`)),
        config,
      );
    }
  } finally {
    await Deno.remove(cniDir, { recursive: true });
  }
  assert.deepEqual(settled(await sim.snapshot()), before);
});

Deno.test("plugin ADD returns an IPv6 result and configures the address in the pod", async () => {
  await using sim = await createSimulation();
  const config = simConfigV6(sim);
  const add = await sim.runPlugin({ command: "ADD", config });
  ok(add, "ADD");
  const address = (add.json as { ips: { address: string }[] }).ips[0]!.address;
  assert.match(address, /^fd00:56:217::[0-9a-f]+\/64$/);
  const net1 = (await sim.podLinks()).find((l) => l.name === "net1")!;
  assert.ok(net1.addresses.includes(address), `${net1.addresses} has ${address}`);
  ok(await sim.runPlugin({ command: "DEL", config }), "DEL");
});

Deno.test("plugin answers bad input with a CNI error and changes nothing", async () => {
  await using sim = await createSimulation();
  const before = settled(await sim.snapshot());
  const cases: [unknown, number, RegExp][] = [
    ['{"name": "mynet" "type": "ib-sriov"}', 6, /^error decoding network config/],
    [simConfig(sim, { link_state: "up" }), 7, /^link_state "up" is invalid/],
    [simConfig(sim, { deviceID: "0000:3b:1f.7" }), 100, /no such PCI device/],
    [simConfig(sim, { deviceID: sim.pf.pci }), 100, /is not an SR-IOV virtual function/],
  ];
  for (const [config, code, msg] of cases) {
    const err = cniError(await sim.runPlugin({ command: "ADD", config }));
    assert.equal(err.code, code, JSON.stringify(err));
    assert.match(err.msg, msg);
  }
  const noNetns = cniError(
    await sim.runPlugin({
      command: "ADD",
      config: simConfig(sim),
      netns: "/var/run/netns/ibsim-none",
    }),
  );
  assert.equal(noNetns.code, 8);
  assert.deepEqual(settled(await sim.snapshot()), before);
});

Deno.test("plugin VERSION prints the supported versions", async () => {
  await using sim = await createSimulation({ vfs: 1 });
  const run = await sim.runPlugin({ command: "VERSION", netns: null });
  ok(run, "VERSION");
  assert.deepEqual((run.json as { supportedVersions: string[] }).supportedVersions, [
    "0.1.0",
    "0.2.0",
    "0.3.0",
    "0.3.1",
    "0.4.0",
    "1.0.0",
    "1.1.0",
  ]);
});
