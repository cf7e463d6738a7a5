/**
 * The netns guarantee, through the plugin process (the bundle, `make bundle` first). Root only;
 * needs strace.
 *
 * The thread that runs the plugin's netlink calls enters a pod's netns only to open a socket there
 * (`withNetns`), then switches back. If that switch back fails, the thread is in the wrong netns,
 * and the process must stop at once: no further netlink request, no IPAM plugin started from
 * there. No kernel refuses a switch back on its own, so strace's fault injection makes every
 * `setns()` that switches back fail (the calls alternate: enter, back).
 *
 * GC is the case where the plugin would otherwise go on: it collects each attachment's failure and
 * moves to the next one, whose IPAM DEL and netlink requests would run in the pod's netns.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createSimulation, type PluginRun, settled, simConfig } from "./sim.ts";
import { straced } from "./_strace.ts";

const ROOT = Deno.uid() === 0;

function ok(run: PluginRun, what: string): void {
  assert.equal(run.code, 0, `${what} failed: ${run.stdout}${run.stderr}`);
}

Deno.test({
  name:
    "GC stops at a failed switch back from a pod netns: no netlink request, no IPAM run after it",
  ignore: !ROOT,
  async fn() {
    await using sim = await createSimulation({ vfs: 2, pods: 2 });
    const before = settled(await sim.snapshot());
    const attachments = [0, 1].map((n) => ({
      containerId: `${sim.containerId}-${n}`,
      netns: sim.podNetnsPaths[n]!,
      config: simConfig(sim, { deviceID: sim.vfs[n]!.pci }),
    }));
    for (const a of attachments) ok(await sim.runPlugin({ command: "ADD", ...a }), "ADD");

    const log = join(sim.dir, "strace-gc.log");
    const gc = await sim.runPlugin({
      command: "GC",
      config: simConfig(sim, { cniVersion: "1.1.0", "cni.dev/valid-attachments": [] }),
      pluginArgv: await straced([
        "-o",
        log,
        "-e",
        "trace=setns,sendmsg,pipe2",
        "-e",
        "inject=setns:error=EPERM:when=2+2",
      ]),
    });
    // The first failed switch back is the last call: nothing after it asked the kernel for
    // anything (sendmsg), started the IPAM plugin (pipe2 makes its pipes) or switched again.
    const calls = (await Deno.readTextFile(log)).split("\n").filter((l) => /^\w+\(/.test(l));
    const failed = calls.findIndex((l) => l.startsWith("setns(") && l.includes("(INJECTED)"));
    assert.ok(failed > 0, calls.join("\n"));
    assert.deepEqual(calls.slice(failed + 1), []);

    assert.equal(gc.code, 1, gc.stdout + gc.stderr);
    // GC releases the attachments in the order it lists their records, which the kernel sets.
    const first = attachments.find((a) => gc.stdout.includes(`"${a.netns}\\"`)) ?? attachments[0]!;
    assert.deepEqual(gc.json, {
      code: 101,
      msg: `Cannot return from netns "${first.netns}": Operation not permitted`,
      details:
        "the plugin stopped at once, its thread in the wrong network namespace; nothing was undone",
    });
    // Nothing was undone or forgotten: each attachment's DEL restores the node.
    for (const a of attachments) ok(await sim.runPlugin({ command: "DEL", ...a }), "DEL");
    assert.deepEqual(settled(await sim.snapshot()), before);
  },
});
