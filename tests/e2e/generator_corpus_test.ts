/**
 * Every config of the generator corpus (tests/fixtures/generators/: configs exactly as the
 * tools in the field render them, with their CNI_* environment) through the plugin process
 * (the bundle, `make bundle` first) on the simulated VF, as the runtime would run it: `ib-sriov
 * validate` accepts the stdin and its NetworkAttachmentDefinition; ADD; CHECK when the version
 * has it (0.4.0 and later), with the ADD's result as prevResult, as Multus sends it; DEL (with
 * that prevResult too); and the host is as before. Root only.
 *
 * The exception is an ADD that needs InfiniBand hardware: the simulated PF answers EOPNOTSUPP to
 * setting a VF's link state or GUIDs (tests/e2e/ib_config_test.ts). There ADD must fail with
 * that very error (code 100, the PF-driver message), no config error first, and DEL succeed.
 *
 * IPAM: host-local is Debian's. nv-ipam and whereabouts cannot be built or run here (the one
 * needs its node daemon, the other the Kubernetes API), so a test stand-in named after each,
 * tests/fixtures/ipam/stand-in, answers as they would by leasing from host-local. host-local's
 * default data dir, /var/lib/cni/networks, is this simulation's IPAM dir in the plugin's mount
 * namespace: its leases are in the snapshot, and nothing reaches the host's.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { versionAtLeast } from "../../lib/cni/versions.ts";
import { type GeneratorCase, goJson, loadCorpus } from "../fixtures/generators/corpus.ts";
import { createSimulation, runValidate, settled, type Simulation } from "./sim.ts";

const STAND_IN = fileURLToPath(new URL("../fixtures/ipam/stand-in", import.meta.url));
const HOST_LOCAL = "/usr/lib/cni/host-local";
/** host-local's default `dataDir`. */
const HOST_LOCAL_DATA_DIR = "/var/lib/cni/networks";
/** The node's CNI bin dir, as Multus names it in `CNI_PATH`. */
const NODE_CNI_BIN = "/opt/cni/bin";
/** The VFs of the fixture the corpus names: two PFs, two VFs each. */
const SHAPE = { pfs: 2, vfs: 4 };

/** A CNI_PATH dir of this simulation: host-local, and the stand-ins as nv-ipam and whereabouts. */
async function cniBin(sim: Simulation): Promise<string> {
  const bin = join(sim.dir, "cni-bin");
  await Deno.mkdir(bin);
  await Deno.symlink(HOST_LOCAL, join(bin, "host-local"));
  for (const name of ["nv-ipam", "whereabouts"]) await Deno.symlink(STAND_IN, join(bin, name));
  return bin;
}

/** The message of the EOPNOTSUPP the simulated PF answers for the case's hardware step. */
function hardwareMessage(sim: Simulation, c: GeneratorCase, config: Record<string, unknown>) {
  const vf = sim.vfs.find((v) => v.pci === config["deviceID"])!;
  const pf = sim.pfs.find((p) => p.pci === vf.physfn)!.netdev;
  if (c.hardware === "link-state") {
    return `Cannot set the link state of VF ${vf.index} to "${config["link_state"]}" through ` +
      `PF "${pf}": the PF's driver cannot set VF link state (Operation not supported)`;
  }
  const runtime = config["runtimeConfig"] as { infinibandGUID?: string } | undefined;
  const args = config["args"] as { cni?: { guid?: string } } | undefined;
  const guid = runtime?.infinibandGUID ?? args?.cni?.guid;
  return `Cannot set the node and port GUID of VF ${vf.index} to "${guid}" through PF "${pf}": ` +
    "the PF's driver cannot set VF GUIDs (Operation not supported)";
}

/** What the test of a case proves, for its name. */
function claim(c: GeneratorCase): string {
  if (c.hardware !== undefined) {
    const step = c.hardware === "link-state" ? "link state" : "GUIDs";
    return `ADD fails only at setting the VF's ${step}, which needs InfiniBand hardware (code 100), DEL succeeds`;
  }
  const version = (JSON.parse(c.stdin) as { cniVersion: "1.0.0" }).cniVersion;
  return versionAtLeast(version, "0.4.0") ? "ADD, CHECK and DEL succeed" : "ADD and DEL succeed";
}

for (const c of loadCorpus()) {
  Deno.test(`generator config ${c.id}: ib-sriov validate accepts it, ${claim(c)} on the simulated VF, host as before`, async () => {
    for (const file of [c.stdinFile, ...(c.nadFile === undefined ? [] : [c.nadFile])]) {
      assert.deepEqual(await runValidate(file), { code: 0, stdout: `${file}: ok\n` });
    }
    await using sim = await createSimulation(SHAPE);
    const bin = await cniBin(sim);
    await Deno.mkdir(HOST_LOCAL_DATA_DIR, { recursive: true });
    const config = JSON.parse(c.stdin) as Record<string, unknown>;
    const run = (command: string, stdin: string) =>
      sim.runPlugin({
        command,
        config: stdin,
        containerId: c.env["CNI_CONTAINERID"]!,
        ifname: c.env["CNI_IFNAME"]!,
        cniArgs: c.env["CNI_ARGS"]!,
        cniPath: c.env["CNI_PATH"]!.replaceAll(NODE_CNI_BIN, bin),
        setup: [`mount --bind ${sim.ipamDataDir} ${HOST_LOCAL_DATA_DIR}`],
      });
    const before = settled(await sim.snapshot());
    const hostLeases = () =>
      Array.from(Deno.readDirSync(HOST_LOCAL_DATA_DIR), (e) => e.name).sort();
    const hostBefore = hostLeases();

    const add = await run("ADD", c.stdin);
    let del = c.stdin;
    if (c.hardware === undefined) {
      assert.equal(add.code, 0, `ADD failed: ${add.stdout}${add.stderr}`);
      const result = add.json as Record<string, unknown>;
      assert.equal(result["cniVersion"], config["cniVersion"]);
      const withResult = goJson({ ...config, prevResult: result });
      if (versionAtLeast(config["cniVersion"] as "1.0.0", "0.4.0")) {
        const check = await run("CHECK", withResult);
        assert.deepEqual([check.code, check.stdout], [0, ""], check.stderr);
        del = withResult;
      }
    } else {
      assert.equal(add.code, 1, add.stdout);
      const err = add.json as { code: number; msg: string };
      assert.deepEqual(
        { code: err.code, msg: err.msg },
        { code: 100, msg: hardwareMessage(sim, c, config) },
      );
    }
    const removed = await run("DEL", del);
    assert.deepEqual([removed.code, removed.stdout], [0, ""], removed.stderr);
    assert.deepEqual(settled(await sim.snapshot()), before);
    assert.deepEqual(hostLeases(), hostBefore, "host-local wrote to the host's data dir");
  });
}
