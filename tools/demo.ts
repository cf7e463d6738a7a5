/**
 * `make demo`: runs the plugin's ADD, CHECK and DEL on a simulated InfiniBand SR-IOV node and
 * shows, step by step, what it is given, what it answers, and what the pod and the host see.
 * Cleans up after itself, also on Ctrl-C, and proves that nothing is left behind.
 *
 * Usage (as root): deno run -A tools/demo.ts [--source] [--vfs N]
 *   --source  run cli.ts from source instead of the bundle build/ib-sriov.js
 *   --vfs N   number of simulated VFs (default 4)
 *
 * Exit status: 0 when every step succeeded; 1 when the plugin or the simulation failed; 2 when
 * cleanup left something behind.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import {
  createSimulation,
  type PluginRun,
  type RunPluginOptions,
  simConfig,
  type Simulation,
  sweepLeftovers,
} from "../tests/e2e/sim.ts";

const encoder = new TextEncoder();

/** Writes lines to stdout, all of them (a pipe may take fewer bytes per write). */
async function say(...lines: string[]): Promise<void> {
  let bytes = encoder.encode(lines.join("\n") + "\n");
  while (bytes.length > 0) bytes = bytes.subarray(await Deno.stdout.write(bytes));
}

function indent(text: string): string {
  return text.trimEnd().split("\n").map((line) => `    ${line}`).join("\n");
}

function heading(text: string): string {
  return `\n━━ ${text} ${"━".repeat(Math.max(0, 72 - text.length))}`;
}

/** The command's output, or its error, for display. */
async function show(argv: string[]): Promise<string> {
  const [program = "", ...args] = argv;
  const out = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.code === 0 ? out.stdout : out.stderr);
  return text.trim() === "" ? "(nothing)" : text;
}

async function hostView(sim: Simulation): Promise<string> {
  const rows = (await sim.hostLinks()).map((l) =>
    [l.name.padEnd(16), (l.kind ?? "").padEnd(7), (l.up ? "UP" : "DOWN").padEnd(5)]
      .concat(l.addresses).join(" ").trimEnd()
  );
  const vfsInHost = sim.vfs.filter((vf) => rows.some((r) => r.startsWith(`${vf.netdev} `)));
  return rows.join("\n") +
    `\n(${vfsInHost.length} of ${sim.vfs.length} VF netdevs in the host; a VF's peer "…p" always stays)`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { source: { type: "boolean", default: false }, vfs: { type: "string", default: "4" } },
  });
  if (Deno.uid() !== 0) {
    await say("make demo: must run as root (it creates links and a network namespace).");
    return 1;
  }

  // 1. Leftovers of crashed runs (never a live run's) would only confuse what follows.
  const swept = await sweepLeftovers();
  const sweptNames = [...swept.links, ...swept.netns, ...swept.dirs];
  if (sweptNames.length > 0) {
    await say(`Removed leftovers of earlier runs: ${sweptNames.join(", ")}`);
  }

  await say(
    heading("ib-sriov demo: ADD, CHECK, DEL on a simulated InfiniBand SR-IOV node"),
    "This machine has no InfiniBand hardware, so the demo builds what the plugin looks at:",
    "  - a fake PCI tree (a ConnectX-6 PF and its VFs: physfn, virtfnN, net/, infiniband/),",
    "    bind-mounted over /sys/bus/pci/devices in a private mount namespace of the plugin",
    "    process only: the host's /sys stays as it is;",
    "  - real links for the netdevs that tree names: a bridge as the PF, one veth end per VF;",
    "  - a real pod network namespace, and Debian's host-local for IPAM.",
    "The plugin itself runs unmodified and talks to the real kernel through netlink.",
  );

  // 2. Cleanup must run whatever happens, Ctrl-C included. A signal that comes while the
  //    simulation is being built is acted on once it is built (cleanup needs its names).
  let sim: Simulation | undefined = undefined;
  let interrupted: { signal: Deno.Signal; code: number } | undefined;
  async function stop(signal: Deno.Signal, code: number): Promise<void> {
    interrupted = { signal, code };
    if (sim === undefined) return;
    await say(`\n${signal}: cleaning up`);
    // cleanup() shares a run already under way, so this waits for it instead of cutting it short.
    await sim.cleanup().catch(async (err) => await say(String(err)));
    Deno.exit(code);
  }
  const onInt = () => void stop("SIGINT", 130);
  const onTerm = () => void stop("SIGTERM", 143);
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  sim = await createSimulation({ vfs: Number(values.vfs) });
  if (interrupted !== undefined) await stop(interrupted.signal, interrupted.code);

  let status = 0;
  try {
    status = await runSteps(sim, values.source);
  } catch (err) {
    await say(`\nThe simulation failed: ${err instanceof Error ? err.message : String(err)}`);
    status = 1;
  } finally {
    // 3. Clean up, then look for what might remain rather than trust that cleanup worked.
    await say(heading("cleanup"));
    try {
      await sim.cleanup();
    } catch (err) {
      await say(err instanceof Error ? err.message : String(err));
    }
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
  }
  const residue = await sim.residue();
  const left = [...residue.links, ...residue.netns, ...residue.dirs, ...residue.mounts];
  if (left.length > 0) {
    await say(`Left behind: ${left.join(", ")}`);
    return 2;
  }
  await say(
    `Nothing is left behind: no ${sim.linkPrefix}* links, no ${sim.podNetns} netns, ` +
      "no temp dirs, no mounts.",
  );
  return status;
}

/** Shows the node, then runs ADD, CHECK and DEL; stops at the first failure. */
async function runSteps(sim: Simulation, fromSource: boolean): Promise<number> {
  await say(heading("the simulated node"));
  await say(
    `PF   ${sim.pf.pci}  netdev ${sim.pf.netdev.padEnd(14)} (bridge)  ${sim.pf.rdmaDevice}`,
    ...sim.vfs.map((vf) =>
      `VF${String(vf.index).padEnd(2)} ${vf.pci}  netdev ${vf.netdev.padEnd(14)} (veth)    ` +
      `${vf.rdmaDevice.padEnd(7)} node_guid ${vf.nodeGuid}`
    ),
    `pod  ${sim.podNetnsPath}`,
  );

  const repo = fileURLToPath(new URL("..", import.meta.url));
  const pluginArgv = fromSource
    ? [Deno.execPath(), "run", "-A", "--config", `${repo}deno.json`, `${repo}cli.ts`]
    : undefined;
  const config = simConfig(sim);
  let addResult: unknown = undefined;
  for (const command of ["ADD", "CHECK", "DEL"]) {
    // The runtime hands CHECK and DEL the ADD result as `prevResult` (CNI spec 1.0).
    const stepConfig = addResult === undefined ? config : { ...config, prevResult: addResult };
    const options: RunPluginOptions = {
      command,
      config: stepConfig,
      ...(pluginArgv === undefined ? {} : { pluginArgv }),
    };
    const input = sim.pluginInput(options);
    await say(
      heading(command),
      "environment:",
      indent(
        Object.entries(input.env).filter(([k]) => k.startsWith("CNI_")).map(([k, v]) => `${k}=${v}`)
          .join("\n"),
      ),
      "stdin:",
      indent(JSON.stringify(stepConfig, null, 2)),
      `running: ${input.argv.join(" ")}`,
    );
    const run = await sim.runPlugin(options);
    await say(...report(run));
    await say(
      `what the pod sees (ip -n ${sim.podNetns} addr):`,
      indent(await show(["ip", "-n", sim.podNetns, "addr"])),
      "what the host sees (the simulation's links):",
      indent(await hostView(sim)),
    );
    if (run.code !== 0) {
      await say(`\n${command} failed (exit status ${run.code}); stopping here.`);
      return 1;
    }
    if (command === "ADD") addResult = run.json;
  }
  return 0;
}

function report(run: PluginRun): string[] {
  const lines = [`exit status: ${run.code}`];
  const body = run.json === null ? run.stdout : JSON.stringify(run.json, null, 2);
  lines.push(run.code === 0 ? "result (stdout):" : "error (stdout):", indent(body || "(empty)"));
  if (run.stderr.trim() !== "") lines.push("plugin log (stderr):", indent(run.stderr));
  return lines;
}

Deno.exit(await main());
