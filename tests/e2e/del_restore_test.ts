/**
 * DEL on the simulated VF (the bundle, `make bundle` first; root only): it undoes the ADD from its
 * attachment record whatever config it gets, and gives the VF netdev back the MTU and altnames it
 * had before ADD, whatever the pod changed.
 */
import assert from "node:assert/strict";
import {
  createSimulation,
  ip,
  type PluginRun,
  settled,
  simConfig,
  type Simulation,
  warnings,
} from "./sim.ts";

function ok(run: PluginRun, what: string): void {
  assert.equal(run.code, 0, `${what} failed: ${run.stdout}${run.stderr}`);
}

/** Configs the ADD's DEL may come with: each breaks a rule ADD enforces, or is not JSON. */
function brokenConfigs(sim: Simulation): [string, unknown][] {
  return [
    [
      "a malformed top-level guid next to a valid runtimeConfig GUID",
      simConfig(sim, {
        guid: "not-a-guid",
        runtimeConfig: { infinibandGUID: "02:00:00:00:00:00:00:07" },
      }),
    ],
    ["vfioPciMode with rdmaIsolation", simConfig(sim, { vfioPciMode: true, rdmaIsolation: true })],
    ["a pkey out of range", simConfig(sim, { pkey: "0x10000" })],
    ["stdin that is not JSON", JSON.stringify(simConfig(sim)).slice(0, 50)],
  ];
}

Deno.test("plugin DEL with a config ADD would refuse releases the host-local lease and gives the VF back", async () => {
  await using sim = await createSimulation();
  for (const [what, broken] of brokenConfigs(sim)) {
    const before = settled(await sim.snapshot());
    ok(await sim.runPlugin({ command: "ADD", config: simConfig(sim) }), `ADD before ${what}`);
    assert.equal(Object.keys((await sim.snapshot()).ipamLeases).length, 1, what);
    const del = await sim.runPlugin({ command: "DEL", config: broken });
    ok(del, `DEL with ${what}`);
    assert.equal(del.stdout, "", what);
    assert.deepEqual(warnings(del), [
      "DEL config is invalid; undoing the ADD from its attachment record",
    ], what);
    // The lease file is gone, the VF is back in the host as it was, the record is gone.
    assert.deepEqual(settled(await sim.snapshot()), before, what);
  }
});

Deno.test("plugin DEL with a broken config and no attachment exits 0", async () => {
  await using sim = await createSimulation();
  for (const [what, broken] of brokenConfigs(sim)) {
    const del = await sim.runPlugin({ command: "DEL", config: broken });
    ok(del, `DEL with ${what}`);
    assert.equal(del.stdout, "", what);
  }
});

Deno.test("plugin DEL with a cniVersion it cannot answer in fails with code 1 and keeps the attachment", async () => {
  await using sim = await createSimulation();
  ok(await sim.runPlugin({ command: "ADD", config: simConfig(sim) }), "ADD");
  const del = await sim.runPlugin({
    command: "DEL",
    config: simConfig(sim, { cniVersion: "9.9.9" }),
  });
  assert.equal(del.code, 1);
  assert.deepEqual(del.json, {
    cniVersion: "1.1.0",
    code: 1,
    msg: 'incompatible CNI versions: cniVersion "9.9.9" is not supported',
  });
  assert.ok((await sim.podLinks()).some((l) => l.name === "net1"), "net1 still in the pod");
  ok(await sim.runPlugin({ command: "DEL", config: simConfig(sim) }), "DEL");
});

Deno.test("plugin DEL restores the MTU and the altname the pod changed on the VF netdev", async () => {
  await using sim = await createSimulation();
  const vf = sim.vfs[0]!;
  const alt = `${sim.linkPrefix}alt`;
  await ip("link", "set", "dev", vf.netdev, "mtu", "1400");
  await ip("link", "property", "add", "dev", vf.netdev, "altname", alt);
  const before = settled(await sim.snapshot());
  assert.deepEqual(
    before.hostLinks.filter((l) => l.name === vf.netdev).map((l) => [l.mtu, l.altNames]),
    [[1400, [alt]]],
  );
  const add = await sim.runPlugin({ command: "ADD", config: simConfig(sim) });
  ok(add, "ADD");
  assert.equal((add.json as { interfaces: { mtu: number }[] }).interfaces[0]!.mtu, 1400);
  await ip("-n", sim.podNetns, "link", "set", "dev", "net1", "mtu", "1300");
  await ip("-n", sim.podNetns, "link", "property", "del", "dev", "net1", "altname", alt);
  ok(await sim.runPlugin({ command: "DEL", config: simConfig(sim) }), "DEL");
  assert.deepEqual(settled(await sim.snapshot()), before);
});

Deno.test("plugin ADD removes an altname the pod already uses, and DEL puts it back", async () => {
  await using sim = await createSimulation();
  const vf = sim.vfs[0]!;
  const alt = `${sim.linkPrefix}alt`;
  await ip("link", "property", "add", "dev", vf.netdev, "altname", alt);
  // A link in the pod named like the VF's altname: the kernel would refuse to move the VF.
  await ip("-n", sim.podNetns, "link", "add", alt, "type", "veth", "peer", "name", `${alt}p`);
  const before = settled(await sim.snapshot());
  ok(await sim.runPlugin({ command: "ADD", config: simConfig(sim) }), "ADD");
  const net1 = (await sim.podLinks()).find((l) => l.name === "net1");
  assert.deepEqual(net1?.altNames, []);
  ok(await sim.runPlugin({ command: "DEL", config: simConfig(sim) }), "DEL");
  assert.deepEqual(settled(await sim.snapshot()), before);
});
