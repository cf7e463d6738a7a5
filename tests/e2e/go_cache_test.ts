/**
 * Replacing the Go ib-sriov-cni with pods running, and rolling back, on the simulated VF (the
 * bundle, `make bundle` first; root only), with Debian's host-local:
 * - upgrade: DEL and GC of an attachment the Go plugin made, from each cache layout it wrote
 *   (`tests/fixtures/go_cache/`). The Go ADD cannot run here (its GUID check needs an IPoIB
 *   address, a veth has none), so the state is set up as it leaves it: our ADD without a GUID,
 *   then the record replaced with the Go layout and the allocation record (Go keeps none) removed;
 * - rollback: our ADD's record decodes as the Go plugin's DEL needs it, and what that DEL then
 *   does (replayed with `ip` and host-local) leaves a node where our next ADD of the VF succeeds.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeAsGo, goCacheFixture, type GoCacheLayout } from "../go_netconf.ts";
import {
  createSimulation,
  ip,
  type PluginRun,
  settled,
  simConfig,
  type Simulation,
  warnings,
} from "./sim.ts";

const ROOT = Deno.uid() === 0;

function ok(run: PluginRun, what: string): void {
  assert.equal(run.code, 0, `${what} failed: ${run.stdout}${run.stderr}`);
}

function recordPath(sim: Simulation, containerId = sim.containerId): string {
  return join(sim.stateCacheDir, `${containerId}-net1`);
}

/** Our ADD of the first VF, left as the Go plugin would have left it, in `layout`. */
async function attachedByGo(sim: Simulation, layout: GoCacheLayout): Promise<string> {
  ok(await sim.runPlugin({ command: "ADD", config: simConfig(sim) }), "ADD");
  const vf = sim.vfs[0]!;
  const cache = goCacheFixture(layout, {
    deviceID: vf.pci,
    HostIFNames: vf.netdev,
    Master: sim.pf.netdev,
    VFID: vf.index,
    name: "ib-sim",
  });
  await Deno.writeTextFile(recordPath(sim), cache);
  await Deno.remove(join(sim.stateCacheDir, "pci", vf.pci));
  return cache;
}

const LAYOUTS: GoCacheLayout[] = [
  "v1.3.0",
  "v1.3.0-args-cni-null",
  "v1.3.0-no-HostIFNames",
  "pre-v1.3.0",
  "pre-v1.3.0-host-local",
];

Deno.test({
  name: "plugin DEL of a Go plugin attachment, from each cache layout it wrote, releases the " +
    "host-local lease and brings the VF back",
  ignore: !ROOT,
  async fn() {
    await using sim = await createSimulation();
    const vf = sim.vfs[0]!;
    for (const layout of LAYOUTS) {
      const before = settled(await sim.snapshot());
      await attachedByGo(sim, layout);
      const del = await sim.runPlugin({ command: "DEL", config: simConfig(sim) });
      ok(del, `DEL of ${layout}`);
      assert.equal(del.stdout, "", layout);
      if (layout === "v1.3.0-no-HostIFNames" || layout.startsWith("pre-")) {
        // No host name recorded: the VF keeps its pod name, free in the host.
        assert.deepEqual(warnings(del), [
          `VF "${vf.pci}": the record has no host name for its netdev; it stays in the host as ` +
          `"net1"`,
        ], layout);
        await ip("link", "set", "net1", "name", vf.netdev);
      } else {
        assert.deepEqual(warnings(del), [], layout);
      }
      assert.deepEqual(settled(await sim.snapshot()), before, layout);
    }
  },
});

Deno.test({
  name: "plugin GC of a Go plugin attachment releases its lease though the real host-local " +
    "(CNI 1.0) refuses GC, and keeps the record of the VF it cannot find",
  ignore: !ROOT,
  async fn() {
    await using sim = await createSimulation();
    const cache = await attachedByGo(sim, "v1.3.0");
    assert.equal(Object.keys((await sim.snapshot()).ipamLeases).length, 1);
    const gc = await sim.runPlugin({
      command: "GC",
      config: simConfig(sim, { cniVersion: "1.1.0", "cni.dev/valid-attachments": [] }),
      containerId: "",
      ifname: "",
      netns: null,
    });
    assert.equal(gc.code, 1, gc.stderr);
    assert.deepEqual(gc.json, {
      cniVersion: "1.1.0",
      code: 3,
      msg: 'IPAM plugin "host-local" GC failed: missing containerID',
    });
    assert.deepEqual((await sim.snapshot()).ipamLeases, {}, "the lease is released first");
    // The Go plugin cached no netns: the VF is still in the pod, where GC cannot look.
    assert.deepEqual(warnings(gc), [
      `VF "${sim.vfs[0]!.pci}": its netdev is found neither in the host nor as "net1" in a ` +
      `netns (the record names none); it is left where it is, and its record kept`,
    ]);
    assert.equal(await Deno.readTextFile(recordPath(sim)), cache);
    assert.ok((await sim.podLinks()).some((l) => l.name === "net1"), "net1 still in the pod");
  },
});

Deno.test({
  name: "plugin ADD writes a record the Go plugin's DEL decodes, and after that DEL our next " +
    "ADD of the VF succeeds",
  ignore: !ROOT,
  async fn() {
    await using sim = await createSimulation({ pods: 2 });
    const vf = sim.vfs[0]!;
    const config = simConfig(sim);
    const before = settled(await sim.snapshot());
    ok(await sim.runPlugin({ command: "ADD", config }), "ADD");
    const { conf: go, errors } = decodeAsGo(await Deno.readTextFile(recordPath(sim)));
    assert.deepEqual(errors, []);
    assert.deepEqual(
      [go.HostIFNames, go.ContIFNames, go.Master, go.VFID, go.deviceID, go.ipam.type],
      [vf.netdev, "net1", sim.pf.netdev, vf.index, vf.pci, "host-local"],
    );
    assert.deepEqual(
      [go.HostIFGUID, go.link_state, go.rdmaIsolation, go.vfioPciMode, go.name, go.type],
      ["", "", false, false, "ib-sim", "ib-sriov"],
    );
    // What the Go DEL does with it: IPAM DEL with the request's config, then net1 down, renamed
    // to HostIFNames and moved to the host; then its cache (our record) removed.
    const hostLocal = await new Deno.Command("/usr/lib/cni/host-local", {
      env: {
        CNI_COMMAND: "DEL",
        CNI_CONTAINERID: sim.containerId,
        CNI_NETNS: sim.podNetnsPath,
        CNI_IFNAME: "net1",
        CNI_PATH: "/usr/lib/cni",
      },
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const writer = hostLocal.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(config)));
    await writer.close();
    assert.equal((await hostLocal.output()).code, 0);
    await ip("-n", sim.podNetns, "link", "set", "net1", "down");
    await ip("-n", sim.podNetns, "link", "set", "net1", "name", go.HostIFNames);
    await ip("-n", sim.podNetns, "link", "set", go.HostIFNames, "netns", "1");
    await Deno.remove(recordPath(sim));
    // Roll forward: the first pod's netns still exists, our allocation record is left.
    assert.deepEqual(
      Object.keys((await sim.snapshot()).stateFiles).filter((f) => f.startsWith("cache/")),
      [`cache/pci/${vf.pci}`],
    );
    const other = { containerId: `${sim.containerId}-2`, netns: sim.podNetnsPaths[1]! };
    ok(await sim.runPlugin({ command: "ADD", config, ...other }), "ADD after the rollback");
    ok(await sim.runPlugin({ command: "DEL", config, ...other }), "DEL after the rollback");
    assert.deepEqual(settled(await sim.snapshot()), before);
  },
});
