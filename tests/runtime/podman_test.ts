/**
 * Debian's podman (libcni, its CNI backend) runs containers on a conflist whose plugin is the
 * installed `ib-sriov`, on a simulated VF, with Debian's host-local IPAM. Nobody here wrote that
 * client: this is how a runtime really calls us. Root only; `make bundle` first.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createSimulation, simConfig, type Simulation } from "../e2e/sim.ts";
import { BUSYBOX_IMAGE, createPodman, type Podman, RUN_FLAGS } from "./_podman.ts";
import { installBundle } from "./_runtime.ts";

/** Writes a conflist for podman: one `ib-sriov` plugin, the simulation's VF and IPAM. */
async function network(
  podman: Podman,
  sim: Simulation,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const { cniVersion, name: _name, ...plugin } = simConfig(sim, overrides);
  const name = `ibsim-${sim.suffix}`;
  const conflist = { cniVersion, name, plugins: [plugin] };
  await Deno.writeTextFile(`${podman.netDir}/${name}.conflist`, JSON.stringify(conflist));
  return name;
}

/** The MAC and IPv4 addresses of `eth0` as busybox `ip addr` prints them. */
function parseAddr(text: string): { mac: string | undefined; inet: string[] } {
  return {
    mac: /link\/\w+ ([0-9a-f:]{17})/.exec(text)?.[1],
    inet: [...text.matchAll(/inet (\d+\.\d+\.\d+\.\d+\/\d+)/g)].map((m) => m[1]!),
  };
}

async function setup(): Promise<
  { sim: Simulation; podman: Podman; bin: string } & AsyncDisposable
> {
  const bin = await Deno.makeTempDir({ prefix: "ib-sriov-bin-" });
  const installed = await installBundle(bin);
  assert.equal(installed.code, 0, installed.stderr);
  await Deno.mkdir("/opt/cni/bin", { recursive: true });
  const sim = await createSimulation({ vfs: 1 });
  const podman = await createPodman(bin);
  return {
    sim,
    podman,
    bin,
    async [Symbol.asyncDispose]() {
      await podman[Symbol.asyncDispose]();
      await sim.cleanup();
      await Deno.remove(bin, { recursive: true });
    },
  };
}

Deno.test("podman run on the ib-sriov network gives each container in turn the VF, and DEL gives it back", async () => {
  await using t = await setup();
  const { sim, podman } = t;
  const vf = sim.vfs[0]!;
  const mac = (await sim.hostLinks()).find((l) => l.name === vf.netdev)!.mac;
  const net = await network(podman, sim);
  const before = await sim.snapshot();
  for (let i = 0; i < 3; i++) {
    const out = await podman.run([
      "run",
      "--rm",
      ...RUN_FLAGS,
      "--network",
      net,
      BUSYBOX_IMAGE,
      "/bin/busybox",
      "ip",
      "addr",
      "show",
      "dev",
      "eth0",
    ], sim);
    assert.equal(out.code, 0, `run ${i}: ${out.stderr}`);
    const seen = parseAddr(out.stdout);
    assert.equal(seen.mac, mac, out.stdout);
    assert.equal(seen.inet.length, 1, out.stdout);
    assert.match(seen.inet[0]!, /^10\.56\.217\.\d+\/24$/);
    // After the container: the VF is back in the host under its name, and no lease is left.
    const after = await sim.snapshot();
    assert.deepEqual(after.hostLinks, before.hostLinks);
    assert.deepEqual(after.ipamLeases, {});
  }
});

Deno.test("podman run fails with the plugin's message when ADD refuses the config, and the host is unchanged", async () => {
  await using t = await setup();
  const { sim, podman } = t;
  const net = await network(podman, sim, { link_state: "sideways" });
  // The message the plugin itself gives for this config.
  const direct = await sim.runPlugin({
    command: "ADD",
    config: simConfig(sim, { link_state: "sideways" }),
  });
  const msg = (direct.json as { msg: string }).msg;
  assert.equal(direct.code, 1);
  const before = await sim.snapshot();
  const out = await podman.run(
    ["run", "--rm", ...RUN_FLAGS, "--network", net, BUSYBOX_IMAGE, "/bin/busybox", "true"],
    sim,
  );
  assert.notEqual(out.code, 0);
  assert.ok(
    out.stderr.includes(msg),
    `podman's stderr lacks ${JSON.stringify(msg)}: ${out.stderr}`,
  );
  assert.deepEqual(await sim.snapshot(), before);
});
