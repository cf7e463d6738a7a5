/**
 * Parallel plugin processes (the bundle, `make bundle` first) on the simulated node: several VFs
 * attached and detached at once, each into a pod of its own, and two pods racing for one VF.
 * Root only.
 *
 * Not covered here: a lock held by a stuck process timing out with code 11. The plugin waits
 * 30 s for a lock (cli.ts), which this file will not spend; the timeout and its message naming
 * the holder are tested on the lock itself (tests/unit/state/lock_test.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createSimulation, type PluginRun, settled, simConfig, type Simulation } from "./sim.ts";

const ROOT = Deno.uid() === 0;
/** How long the workers of the ADD/DEL test keep going: each cycle takes about 0.3 s. */
const WORKER_RUN_MS = 12_000;
/** Rounds of the race for one VF, half of them with each pod's ADD started first. */
const RACE_ROUNDS = 4;

function ok(run: PluginRun, what: string): void {
  assert.equal(run.code, 0, `${what} failed: ${run.stdout}${run.stderr}`);
}

interface IpLink {
  ifname: string;
  address?: string;
}

/** The links of a netns other than `lo`, by name and MAC. */
async function podLinks(netns: string): Promise<IpLink[]> {
  const out = await new Deno.Command("ip", { args: ["-n", netns, "-j", "link", "show"] }).output();
  assert.ok(out.success, `ip -n ${netns} link show: ${new TextDecoder().decode(out.stderr)}`);
  return (JSON.parse(new TextDecoder().decode(out.stdout)) as IpLink[])
    .filter((l) => l.ifname !== "lo");
}

/** Contents of a file, or `undefined` when it does not exist (or no longer does). */
async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/**
 * host-local's leases of the simulation's network: address to `containerID\r\nifname`. Other
 * workers' leases come and go meanwhile: one listed and then released is left out.
 */
async function leases(sim: Simulation): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const dir = join(sim.ipamDataDir, "ib-sim");
  if (await readIfExists(join(dir, "lock")) === undefined) return out; // no ADD yet
  for await (const entry of Deno.readDir(dir)) {
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(entry.name)) continue;
    const lease = await readIfExists(join(dir, entry.name));
    if (lease !== undefined) out.set(entry.name, lease);
  }
  return out;
}

/** Asserts that no process holds any of the plugin's lock files: `flock -n` takes each at once. */
async function assertLocksFree(sim: Simulation): Promise<void> {
  const locks: string[] = [];
  for await (const entry of Deno.readDir(sim.stateRunDir)) {
    if (entry.name.endsWith(".lock")) locks.push(join(sim.stateRunDir, entry.name));
  }
  assert.ok(locks.length > 0, "the plugin took no lock");
  for (const lock of locks) {
    const out = await new Deno.Command("flock", { args: ["-n", "-x", lock, "true"] }).output();
    assert.equal(out.code, 0, `lock ${lock} is still held`);
  }
}

Deno.test({
  name: "plugin ADD/DEL of 4 VFs from parallel processes: every run succeeds, no VF in two pods, " +
    "no lease lost, no lock left held",
  ignore: !ROOT,
  async fn() {
    await using sim = await createSimulation({ vfs: 4, pods: 4 });
    const before = settled(await sim.snapshot());
    const hostMacs = new Map((await sim.hostLinks()).map((l) => [l.name, l.mac]));
    const macs = sim.vfs.map((vf) => hostMacs.get(vf.netdev)!);
    assert.equal(new Set(macs).size, 4, "the VFs' MACs are distinct");
    /** Address to the container that holds it, from the end of its ADD to the start of its DEL. */
    const live = new Map<string, string>();
    const deadline = performance.now() + WORKER_RUN_MS;
    let running = 4;

    async function worker(w: number): Promise<number> {
      const vf = sim.vfs[w]!;
      const config = simConfig(sim, { deviceID: vf.pci });
      const netns = sim.podNetnsPaths[w]!;
      let cycles = 0;
      try {
        while (performance.now() < deadline) {
          // A new sandbox each time, as the runtime makes one per pod start.
          const containerId = `${sim.containerId}-w${w}-${cycles}`;
          const add = await sim.runPlugin({ command: "ADD", config, containerId, netns });
          ok(add, `worker ${w} ADD ${cycles}`);
          const result = add.json as {
            interfaces: { name: string; mac: string; sandbox: string }[];
            ips: { address: string }[];
          };
          assert.deepEqual(
            result.interfaces.map((i) => [i.name, i.mac, i.sandbox]),
            [["net1", macs[w], netns]],
          );
          const ip = result.ips[0]!.address.split("/")[0]!;
          assert.equal(live.get(ip), undefined, `${ip} given to ${containerId} while live`);
          live.set(ip, containerId);
          assert.equal((await leases(sim)).get(ip), `${containerId}\r\nnet1`);
          live.delete(ip); // before the DEL: from its start the address may be someone else's
          ok(
            await sim.runPlugin({ command: "DEL", config, containerId, netns }),
            `worker ${w} DEL`,
          );
          cycles++;
        }
      } finally {
        running--;
      }
      return cycles;
    }

    /**
     * Meanwhile, the pods: a link in pod k is VF k's netdev (by MAC, as it passes through a
     * temporary name on its way in), and only ever one.
     */
    async function monitor(): Promise<number> {
      let looks = 0;
      while (running > 0) {
        for (const [k, pod] of sim.pods.entries()) {
          const links = await podLinks(pod);
          assert.ok(links.length <= 1, `pod ${k} has ${JSON.stringify(links)}`);
          for (const link of links) {
            assert.equal(link.address, macs[k], `pod ${k} has another VF: ${JSON.stringify(link)}`);
          }
        }
        looks++;
      }
      return looks;
    }

    const [looks, ...cycles] = await Promise.all([monitor(), ...[0, 1, 2, 3].map(worker)]);
    for (const [w, n] of cycles.entries()) assert.ok(n >= 3, `worker ${w} ran ${n} cycles`);
    assert.ok(looks > 0);
    assert.deepEqual(await leases(sim), new Map());
    await assertLocksFree(sim);
    assert.deepEqual(settled(await sim.snapshot()), before);
  },
});

Deno.test({
  name:
    "plugin ADDs of one VF into two pods at once: one wins, the other fails naming the holder, " +
    "and its DEL leaves the winner alone",
  ignore: !ROOT,
  async fn() {
    await using sim = await createSimulation({ vfs: 1, pods: 2 });
    const before = settled(await sim.snapshot());
    const config = simConfig(sim);
    const pci = sim.vfs[0]!.pci;
    for (let round = 0; round < RACE_ROUNDS; round++) {
      const pods = sim.podNetnsPaths.map((netns, p) => ({
        netns,
        containerId: `${sim.containerId}-r${round}-p${p}`,
      }));
      // Started in turn in one order and then the other, so that each pod wins some rounds.
      const runs: PluginRun[] = [];
      await Promise.all((round % 2 === 0 ? [0, 1] : [1, 0]).map(async (p) => {
        runs[p] = await sim.runPlugin({ command: "ADD", config, ...pods[p]! });
      }));
      const winners = runs.flatMap((run, i) => run.code === 0 ? [i] : []);
      assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(runs)}`);
      const w = winners[0]!;
      const winner = pods[w]!;
      const loser = pods[1 - w]!;
      const lost = runs[1 - w]!;
      assert.equal(lost.code, 1, `round ${round}: ${lost.stdout}${lost.stderr}`);
      assert.doesNotMatch(lost.stderr, /\n\s+at .*:\d+:\d+/, "no stack trace");
      const err = lost.json as { code: number; msg: string };
      if (err.code === 100) {
        assert.equal(
          err.msg,
          `device "${pci}" is already allocated to container "${winner.containerId}" ` +
            `interface "net1" (netns "${winner.netns}")`,
        );
      } else {
        // The loser timed out on the lock (30 s: only on a machine that is badly overloaded).
        assert.equal(err.code, 11, JSON.stringify(err));
        assert.match(
          err.msg,
          new RegExp(`^timed out after \\d+ ms waiting for lock "${pci}" held by pid \\d+`),
        );
      }
      const attached = settled(await sim.snapshot());
      assert.deepEqual(
        (await podLinks(sim.pods[w]!)).map((l) => l.ifname),
        ["net1"],
        `round ${round}: the winner's pod`,
      );
      assert.deepEqual(await podLinks(sim.pods[1 - w]!), [], `round ${round}: the loser's pod`);
      // The runtime DELs the failed ADD: the winner's VF, record, allocation and lease stay.
      ok(await sim.runPlugin({ command: "DEL", config, ...loser }), `round ${round}: loser DEL`);
      assert.deepEqual(settled(await sim.snapshot()), attached, `round ${round}: after loser DEL`);
      ok(await sim.runPlugin({ command: "DEL", config, ...winner }), `round ${round}: winner DEL`);
      assert.deepEqual(settled(await sim.snapshot()), before, `round ${round}: after winner DEL`);
    }
    await assertLocksFree(sim);
  },
});
