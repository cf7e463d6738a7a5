/**
 * The figures of tools/bench.ts, their statistics, the targets of issues 7 and 23, and the
 * table that shows them.
 *
 * @module
 */

/** Statistics of one series of samples (ms, or MiB for RSS). */
export interface Sample {
  /** Number of samples. */
  n: number;
  median: number;
  /** 95th percentile, nearest rank. */
  p95: number;
  min: number;
  max: number;
}

/** Where the figures were taken. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  deno: string;
  /** Debian version of containernetworking-plugins (host-device, host-local). */
  hostDevice: string;
  /** ISO 8601 time of the run. */
  date: string;
  /**
   * The 1-minute load average when the run started (-1 when unknown): a busy machine (another
   * test run, say) inflates every figure, so compare runs only when it is low. (It is not taken
   * at the end: the parallel phase itself runs 16 plugins at once.)
   */
  load: number;
}

/** ADD, DEL and ADD+DEL wall times of one plugin. */
export interface CycleFigures {
  add: Sample;
  del: Sample;
  cycle: Sample;
}

/**
 * One command's time after its plugin's start-up floor: `median − floor` for each plugin, in the
 * same run (ours: an empty `deno run` with the bundle's own shebang; host-device: its VERSION).
 */
export interface AfterFloor {
  ours: number;
  reference: number;
  /** ours / host-device. */
  ratio: number;
}

/** The environment a plugin process gets, and everything measured in it. */
export interface EnvFigures {
  /** How the plugin was run, e.g. `shell`, `runtime: no HOME`. */
  env: string;
  /** ADD+DEL cycles, the two plugins interleaved. */
  cycle: { ours: CycleFigures; reference: CycleFigures };
  /**
   * Start-up, each run through the same harness as an ADD (so that `median − floor` takes the
   * harness out): ours is VERSION, floor the empty script, reference host-device's VERSION;
   * harness is `/bin/true` through it, interleaved with them.
   */
  startup: { ours: Sample; floor: Sample; reference: Sample; harness: Sample };
  afterFloor: { add: AfterFloor; del: AfterFloor };
  /** Peak RSS in MiB; `null` when GNU time is not installed. */
  rss: { ours: Sample; reference: Sample; floor: Sample } | null;
  /** The 8-rail pod: eight ADDs, then eight DELs, one after another; totals per pod. */
  rail8: { ours: CycleFigures; reference: CycleFigures; ratio: number };
}

/** One phase of the timeline, over the debug runs. */
export interface Phase {
  /** The phase, as the plugin's `timings` record names it. */
  phase: string;
  /** Median time since the runtime's start when it began (ms). */
  at: number;
  /** Median duration (ms); absent for a point. */
  ms?: number;
  /** Median resident set size at a point (MiB), when the plugin records it. */
  rssMiB?: number;
}

/** What a stretch of a run was spent on, as the waterfall colours it. */
export type SegmentKind = "startup" | "work" | "move" | "ipam" | "exit";

/** A stretch of one run, in ms since the plugin's `execve`. */
export interface Segment {
  kind: SegmentKind;
  start: number;
  end: number;
}

/** One bar of the waterfall: a plugin's command, its stretches in time order. */
export interface WaterfallRow {
  label: string;
  segments: Segment[];
}

/**
 * The ADD and DEL of both plugins on one time axis: medians of runs traced by the kernel
 * (tools/bench_ftrace.ts), ours split further by its own timeline of the same runs.
 */
export interface Waterfall {
  runs: number;
  add: WaterfallRow[];
  del: WaterfallRow[];
}

/**
 * The netns move of each plugin, measured the same way for both, in the same runs: the time in
 * the kernel of its longest netlink request, which is the move (tools/bench_ftrace.ts).
 */
export interface MoveFigures {
  ours: { add: Sample; del: Sample };
  reference: { add: Sample; del: Sample };
  /** ours / host-device, medians. */
  ratio: { add: number; del: number };
}

/** Everything one run of the benchmark measured; `--json` prints this. */
export interface Figures {
  machine: Machine;
  /** ADD+DEL cycles per plugin in the cycle figures, and per tree in the scale figures. */
  cycles: number;
  /** One run of `/bin/true` through the same `unshare -m` and bind mounts. */
  harness: Sample;
  /** The same figures in each environment: the caller's shell, then as runtimes run plugins. */
  envs: EnvFigures[];
  /**
   * The phase timelines of ADD and DEL (the plugin's debug `timings` record), with the wall time
   * seen from outside; `null` when the bundle writes no timeline (an older build).
   */
  timeline: { add: Phase[]; del: Phase[]; addWall: number; delWall: number; runs: number } | null;
  /** `null` when the kernel has no tracer with syscall tracepoints. */
  moves: MoveFigures | null;
  /** `null` when the kernel has no tracer with syscall tracepoints. */
  waterfall: Waterfall | null;
  parallel: {
    plugin: string;
    /** Wall time from starting all ADDs to the last one's exit. */
    add: Sample;
    del: Sample;
    total: Sample;
    /** The plugin's median single cycle × the number of parallel cycles. */
    serial: number;
    /** Median total / serial. */
    ratio: number;
  }[];
  scale: {
    small: { vfs: number; pfs: number; add: Sample };
    large: { vfs: number; pfs: number; add: Sample };
    /** Median ADD, large / small. */
    ratio: number;
  };
}

/**
 * The targets, as the largest ratio (or MiB) that meets each: issue 23's for ADD and DEL after
 * the floors, the 8-rail pod, the move and peak RSS (the median of one ADD); issue 7's for the
 * parallel and the scale figures.
 */
export const TARGETS = {
  afterFloorRatio: 2.0,
  rssMiB: 49.5,
  rail8Ratio: 2.0,
  moveRatio: 1.15,
  parallelRatio: 0.6,
  scaleRatio: 1.1,
} as const;

/**
 * @param samples the measurements, at least one
 * @returns their median, 95th percentile (nearest rank), minimum and maximum
 * @throws {RangeError} when `samples` is empty
 */
export function summarize(samples: readonly number[]): Sample {
  if (samples.length === 0) throw new RangeError("Cannot summarize no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const mid = sorted.length / 2;
  const median = sorted.length % 2 === 1
    ? sorted[Math.floor(mid)]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { n: sorted.length, median, p95: at(0.95), min: sorted[0]!, max: sorted.at(-1)! };
}

/**
 * @param a numerator
 * @param b denominator
 * @returns `a / b` rounded to 2 decimals (`Infinity` when `b` is not positive)
 */
export function ratio(a: number, b: number): number {
  return b > 0 ? Math.round((a / b) * 100) / 100 : Infinity;
}

const ms = (v: number) => `${v.toFixed(1)} ms`;
const mib = (v: number) => `${v.toFixed(1)} MiB`;
const x = (v: number) => `${v.toFixed(2)}×`;
const verdict = (met: boolean) => met ? "met" : "MISSED";

/**
 * @param ours our median
 * @param oursFloor our start-up floor
 * @param reference host-device's median
 * @param referenceFloor host-device's start-up floor
 * @returns both times after their floors and their ratio
 */
export function afterFloor(
  ours: number,
  oursFloor: number,
  reference: number,
  referenceFloor: number,
): AfterFloor {
  const o = ours - oursFloor;
  const r = reference - referenceFloor;
  return { ours: o, reference: r, ratio: ratio(o, r) };
}

const sample = (s: Sample, unit = ms) => `${unit(s.median)} (${unit(s.p95)})`;

function envRows(e: EnvFigures): string[][] {
  const { ours, reference } = e.cycle;
  const rows: string[][] = [[`**${e.env}**`, "", "", ""]];
  for (const cmd of ["add", "del"] as const) {
    const a = e.afterFloor[cmd];
    rows.push([
      `${cmd.toUpperCase()}, median (p95), n=${ours[cmd].n}`,
      sample(ours[cmd]),
      sample(reference[cmd]),
      `after floor ${ms(a.ours)} vs ${ms(a.reference)}: ${x(a.ratio)} (≤ ${
        x(TARGETS.afterFloorRatio)
      }): ${verdict(a.ratio <= TARGETS.afterFloorRatio)}`,
    ]);
  }
  const s = e.startup;
  const harness = s.harness;
  rows.push(
    [
      `start-up: VERSION (ours, host-device), n=${s.ours.n}`,
      sample(s.ours),
      sample(s.reference),
      `without the harness: ${ms(s.ours.median - harness.median)}, ${
        ms(s.reference.median - harness.median)
      }`,
    ],
    [
      `  the floor: \`deno run\` empty script, the bundle's shebang (harness ${
        ms(harness.median)
      })`,
      sample(s.floor),
      "",
      `without the harness: ${ms(s.floor.median - harness.median)}; ours ${
        x(ratio(s.ours.median - harness.median, s.floor.median - harness.median))
      } of it`,
    ],
  );
  if (e.rss === null) {
    rows.push(["Peak RSS of one ADD", "n/a: needs GNU time (Debian package `time`)", "", ""]);
  } else {
    rows.push(
      [
        `Peak RSS of one ADD, median (max), n=${e.rss.ours.n}`,
        `${mib(e.rss.ours.median)} (${mib(e.rss.ours.max)})`,
        `${mib(e.rss.reference.median)} (${mib(e.rss.reference.max)})`,
        `median ≤ ${TARGETS.rssMiB} MiB: ${verdict(e.rss.ours.median <= TARGETS.rssMiB)}`,
      ],
      ["  `deno run` empty script (the floor)", mib(e.rss.floor.median), "", ""],
    );
  }
  const r = e.rail8;
  rows.push([
    `8-rail pod: 8 ADDs then 8 DELs, median (p95), n=${r.ours.cycle.n}`,
    `${sample(r.ours.cycle)}: ADDs ${ms(r.ours.add.median)}, DELs ${ms(r.ours.del.median)}`,
    `${sample(r.reference.cycle)}: ADDs ${ms(r.reference.add.median)}, DELs ${
      ms(r.reference.del.median)
    }`,
    `${x(r.ratio)} (≤ ${x(TARGETS.rail8Ratio)} after the floors): ${
      verdict(r.ratio <= TARGETS.rail8Ratio)
    }`,
  ]);
  return rows;
}

/** The timeline of one command as rows: phase, when it began, how long it took. */
function timelineRows(phases: Phase[], wall: number): string[] {
  const last = phases.at(-1);
  const rows = [
    `| 0.0 ms | runtime start (Deno's own start-up, up to the clock's zero) | | |`,
    ...phases.map((p) =>
      `| ${ms(p.at)} | ${p.phase.replaceAll("|", "\\|")} | ${
        p.ms === undefined ? "" : ms(p.ms)
      } | ${p.rssMiB === undefined ? "" : mib(p.rssMiB)} |`
    ),
  ];
  if (last !== undefined) {
    rows.push(
      `| ${
        ms(last.at)
      } | exit, Deno's start before the clock's zero, and the harness (wall time from spawn ${
        ms(wall)
      }) | ${ms(wall - last.at)} | |`,
    );
  }
  return rows;
}

/**
 * @param f the figures of one run
 * @returns the figures as a plain-text table (Markdown), with the machine, each target, and the
 *   phase timelines of ADD and DEL
 */
export function renderTable(f: Figures): string {
  const m = f.machine;
  const rows: string[][] = [];
  for (const e of f.envs) rows.push(...envRows(e));
  if (f.moves !== null) {
    for (const cmd of ["add", "del"] as const) {
      const r = f.moves.ratio[cmd];
      rows.push([
        `the netns move in ${cmd.toUpperCase()} (its request's time in the kernel), median (p95), n=${
          f.moves.ours[cmd].n
        }`,
        sample(f.moves.ours[cmd]),
        sample(f.moves.reference[cmd]),
        `${x(r)} (≤ ${x(TARGETS.moveRatio)}): ${verdict(r <= TARGETS.moveRatio)}`,
      ]);
    }
  } else {
    rows.push(["the netns move", "n/a: the kernel has no tracer with syscall tracepoints", "", ""]);
  }
  rows.push([
    "harness per run (unshare -m, 4 bind mounts, /bin/true)",
    ms(f.harness.median),
    ms(f.harness.median),
    "in every figure above but RSS",
  ]);
  const [po, pr] = f.parallel;
  if (po !== undefined && pr !== undefined) {
    rows.push(
      [
        `16 parallel ADDs then 16 DELs, median total, ${po.total.n} rounds`,
        `${ms(po.total.median)} (ADD ${ms(po.add.median)}, DEL ${ms(po.del.median)})`,
        `${ms(pr.total.median)} (ADD ${ms(pr.add.median)}, DEL ${ms(pr.del.median)})`,
        `ours ${x(po.ratio)} of 16 × cycle (≤ ${x(TARGETS.parallelRatio)}): ${
          verdict(po.ratio <= TARGETS.parallelRatio)
        }`,
      ],
      ["  16 × median single cycle", ms(po.serial), ms(pr.serial), `host-device ${x(pr.ratio)}`],
    );
  }
  const sc = f.scale;
  rows.push(
    [
      `ADD, ${sc.small.vfs} VFs on ${sc.small.pfs} PF, median (p95), n=${sc.small.add.n}`,
      sample(sc.small.add),
      "",
      "",
    ],
    [
      `ADD, ${sc.large.vfs} VFs on ${sc.large.pfs} PFs (last VF), median (p95)`,
      sample(sc.large.add),
      "",
      `${x(sc.ratio)} of ${sc.small.vfs}-VF time (≤ ${x(TARGETS.scaleRatio)}): ${
        verdict(sc.ratio <= TARGETS.scaleRatio)
      }`,
    ],
  );
  const header = ["figure", "ib-sriov", "host-device", "ratio / target"];
  const lines = [
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}, Deno ${m.deno}, ` +
    `containernetworking-plugins ${m.hostDevice}; ${m.date}; load average ${m.load} at the start`,
    "",
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
  if (f.timeline === null) {
    lines.push("", "Timeline: n/a (this bundle writes no `timings` record)");
  } else {
    for (
      const [name, phases, wall] of [
        ["ADD", f.timeline.add, f.timeline.addWall],
        ["DEL", f.timeline.del, f.timeline.delWall],
      ] as const
    ) {
      lines.push(
        "",
        `${name} timeline (medians of ${f.timeline.runs} runs at logLevel debug, shell environment):`,
        "",
        "| at | phase | took | RSS |",
        "| --- | --- | --- | --- |",
        ...timelineRows(phases, wall),
      );
    }
  }
  return lines.join("\n");
}
