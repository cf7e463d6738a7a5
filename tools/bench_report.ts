/**
 * The figures of tools/bench.ts, their statistics, the targets of issue 7, and the table that
 * shows them.
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

/** Everything one run of the benchmark measured; `--json` prints this. */
export interface Figures {
  machine: Machine;
  /** ADD+DEL cycles per plugin in the cycle figures, and per tree in the scale figures. */
  cycles: number;
  cycle: {
    ours: CycleFigures;
    reference: CycleFigures;
    /** One run of `/bin/true` through the same `unshare -m` and bind mounts. */
    harness: Sample;
    /** Median cycle, ours / host-device. */
    ratio: number;
    /** The same with the harness (twice per cycle) taken out of both. */
    netRatio: number;
  };
  startup: {
    ours: Sample;
    /** `deno run` of an empty script with the bundle's flags. */
    floor: Sample;
    reference: Sample;
    oursToFloor: number;
    oursToReference: number;
  };
  /** Peak RSS in MiB; `null` when GNU time is not installed. */
  rss: { ours: Sample; reference: Sample; floor: Sample } | null;
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

/** The targets of issue 7, as the largest ratio (or MiB) that meets each. */
export const TARGETS = {
  cycleRatio: 1.0,
  startupRatio: 1.3,
  rssMiB: 40,
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
 * @param f the figures of one run
 * @returns the figures as a plain-text table (Markdown), with the machine and each target
 */
export function renderTable(f: Figures): string {
  const m = f.machine;
  const rows: string[][] = [];
  const { ours, reference, harness } = f.cycle;
  rows.push(
    [
      `ADD+DEL cycle, median (p95), n=${ours.cycle.n}`,
      `${ms(ours.cycle.median)} (${ms(ours.cycle.p95)})`,
      `${ms(reference.cycle.median)} (${ms(reference.cycle.p95)})`,
      `${x(f.cycle.ratio)} (≤ ${x(TARGETS.cycleRatio)}): ${
        verdict(f.cycle.ratio <= TARGETS.cycleRatio)
      }`,
    ],
    [
      "  ADD, median (p95)",
      `${ms(ours.add.median)} (${ms(ours.add.p95)})`,
      `${ms(reference.add.median)} (${ms(reference.add.p95)})`,
      x(ratio(ours.add.median, reference.add.median)),
    ],
    [
      "  DEL, median (p95)",
      `${ms(ours.del.median)} (${ms(ours.del.p95)})`,
      `${ms(reference.del.median)} (${ms(reference.del.p95)})`,
      x(ratio(ours.del.median, reference.del.median)),
    ],
    [
      "  harness per run (unshare -m, 4 bind mounts, /bin/true)",
      ms(harness.median),
      ms(harness.median),
      `cycle without it: ${x(f.cycle.netRatio)}`,
    ],
  );
  const s = f.startup;
  rows.push(
    [
      `VERSION start-up, median (p95), n=${s.ours.n}`,
      `${ms(s.ours.median)} (${ms(s.ours.p95)})`,
      `${ms(s.reference.median)} (${ms(s.reference.p95)})`,
      `${x(s.oursToReference)} of host-device`,
    ],
    [
      "  `deno run` empty script, same flags (the floor)",
      `${ms(s.floor.median)} (${ms(s.floor.p95)})`,
      "",
      `ours ${x(s.oursToFloor)} of floor (≤ ${x(TARGETS.startupRatio)}): ${
        verdict(s.oursToFloor <= TARGETS.startupRatio)
      }`,
    ],
  );
  if (f.rss === null) {
    rows.push(["Peak RSS of one ADD", "n/a: needs GNU time (Debian package `time`)", "", ""]);
  } else {
    rows.push(
      [
        `Peak RSS of one ADD, median (max), n=${f.rss.ours.n}`,
        `${mib(f.rss.ours.median)} (${mib(f.rss.ours.max)})`,
        `${mib(f.rss.reference.median)} (${mib(f.rss.reference.max)})`,
        `≤ ${TARGETS.rssMiB} MiB: ${verdict(f.rss.ours.max <= TARGETS.rssMiB)}`,
      ],
      ["  `deno run` empty script (the floor)", mib(f.rss.floor.median), "", ""],
    );
  }
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
      `${ms(sc.small.add.median)} (${ms(sc.small.add.p95)})`,
      "",
      "",
    ],
    [
      `ADD, ${sc.large.vfs} VFs on ${sc.large.pfs} PFs (last VF), median (p95)`,
      `${ms(sc.large.add.median)} (${ms(sc.large.add.p95)})`,
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
  return lines.join("\n");
}
