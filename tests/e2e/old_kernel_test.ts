/**
 * A kernel before Linux 5.6, which has no `openat2()`, through the plugin process (the bundle,
 * `make bundle` first): strace makes every `openat2` fail with ENOSYS. Root only; needs strace.
 */
import assert from "node:assert/strict";
import { createSimulation, settled, simConfig } from "./sim.ts";
import { straced } from "./_strace.ts";

Deno.test({
  name: "plugin ADD on a kernel without openat2() fails with code 103 saying so, changing nothing",
  ignore: Deno.uid() !== 0,
  async fn() {
    await using sim = await createSimulation();
    const before = settled(await sim.snapshot());
    const add = await sim.runPlugin({
      command: "ADD",
      config: simConfig(sim),
      pluginArgv: await straced(["-o", "/dev/null", "-e", "inject=openat2:error=ENOSYS"]),
    });
    assert.equal(add.code, 1, add.stdout + add.stderr);
    const dir = "/var/run/cni/ib-sriov";
    assert.deepEqual(add.json, {
      cniVersion: "1.0.0",
      code: 103,
      msg:
        `Cannot open directory "${dir}": the kernel has no openat2() (Linux 5.6 or later is needed)`,
      details: `state file ${dir}`,
    });
    assert.deepEqual(settled(await sim.snapshot()), before);
  },
});
