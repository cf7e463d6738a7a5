// deno-lint-ignore-file no-console -- a measurement script talks to the person running it
/**
 * How long one `podman run` spends in ib-sriov: Debian's podman (CNI backend) runs a container on
 * the installed plugin over the simulated VF, under `strace -f --seccomp-bpf -e trace=execve`,
 * which stops only at execve, and the plugin processes' lifetimes (execve to exit) are read from
 * its log, by CNI_COMMAND. libcni asks VERSION before each ADD and DEL, so a run holds four.
 *
 * Usage (as root, after `make bundle`): deno run -A tools/podman_timing.ts [--runs N]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createSimulation, simConfig } from "../tests/e2e/sim.ts";
import { BUSYBOX_IMAGE, createPodman, RUN_FLAGS } from "../tests/runtime/_podman.ts";
import { installBundle } from "../tests/runtime/_runtime.ts";
import { summarize } from "./bench_report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "10" } },
});
const runs = Number(values.runs);

/** Plugin lifetimes in one strace log, in ms, by CNI_COMMAND. */
function lifetimes(log: string): Record<string, number[]> {
  const started = new Map<string, { command: string; at: number }>();
  const out: Record<string, number[]> = {};
  for (const line of log.split("\n")) {
    const exec = /^(\d+) +(\d+\.\d+) execve\("\/opt\/cni\/bin\/ib-sriov".*"CNI_COMMAND=(\w+)"/
      .exec(line);
    if (exec !== null && !/= -1 /.test(line)) {
      started.set(exec[1]!, { command: exec[3]!, at: Number(exec[2]) });
    }
    const exit = /^(\d+) +(\d+\.\d+) \+\+\+ exited with \d+/.exec(line);
    const start = exit === null ? undefined : started.get(exit[1]!);
    if (exit !== null && start !== undefined) {
      (out[start.command] ??= []).push((Number(exit[2]) - start.at) * 1000);
    }
  }
  return out;
}

const bin = await Deno.makeTempDir({ prefix: "ib-sriov-bin-" });
try {
  const installed = await installBundle(bin);
  if (installed.code !== 0) throw new Error(`install failed: ${installed.stderr}`);
  await Deno.mkdir("/opt/cni/bin", { recursive: true });
  await using sim = await createSimulation({ vfs: 1 });
  await using podman = await createPodman(bin);
  const { cniVersion, name: _name, ...plugin } = simConfig(sim);
  const conflist = { cniVersion, name: "timing", plugins: [plugin] };
  await Deno.writeTextFile(`${podman.netDir}/timing.conflist`, JSON.stringify(conflist));
  const samples: Record<string, number[]> = { "podman run (wall)": [] };
  for (let i = 0; i < runs; i++) {
    const log = `${podman.dir}/strace-${i}.log`;
    const t0 = performance.now();
    const out = await podman.run(
      [
        "run",
        "--rm",
        ...RUN_FLAGS,
        "--network",
        "timing",
        BUSYBOX_IMAGE,
        "/bin/busybox",
        "true",
      ],
      sim,
      ["strace", "-f", "-ttt", "-v", "-s", "32", "--seccomp-bpf", "-e", "trace=execve", "-o", log],
    );
    samples["podman run (wall)"]!.push(performance.now() - t0);
    if (out.code !== 0) throw new Error(`podman run failed: ${out.stderr}`);
    for (const [command, ms] of Object.entries(lifetimes(await Deno.readTextFile(log)))) {
      (samples[`ib-sriov ${command}`] ??= []).push(...ms);
    }
  }
  console.log(`${runs} podman runs under strace (execve only); ms`);
  for (const [what, ms] of Object.entries(samples)) {
    const s = summarize(ms);
    console.log(
      `${what.padEnd(20)} n=${String(s.n).padStart(3)} median ${s.median.toFixed(1)} p95 ${
        s.p95.toFixed(1)
      } min ${s.min.toFixed(1)} max ${s.max.toFixed(1)}`,
    );
  }
} finally {
  await Deno.remove(bin, { recursive: true });
}
