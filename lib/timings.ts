/**
 * The phase timeline of one plugin run: where the time of a slow ADD went. The plugin records
 * points (a phase reached) and spans (a call and how long it took) with an injected clock
 * (`performance.now` in production, whose zero is the runtime's start), and the debug log writes
 * the whole timeline as one record's `timings` field at the end of the command.
 *
 * Recording is two clock reads and one array push, so it stays on at every log level; only the
 * record that prints it is written at `debug`.
 *
 * @module
 */

/** One entry of the timeline, in ms since the clock's zero, rounded to 0.01 ms. */
export interface TimingEntry {
  /** What happened: a phase (`config validated`) or a call (`netlink.moveLink`). */
  phase: string;
  /** When it started (a point: when it was reached). */
  at: number;
  /** How long it took; absent for a point. */
  ms?: number;
  /** The resident set size at a point, in MiB (0.1), when the recorder was given a gauge. */
  rssMiB?: number;
}

/** Rounds to 0.01 ms: finer is noise, and the log line stays short. */
function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

export class Timings {
  readonly #now: () => number;
  readonly #rss: (() => number) | undefined;
  readonly #entries: TimingEntry[] = [];
  readonly #sinks: ((entries: readonly TimingEntry[]) => void)[] = [];

  /**
   * @param now the clock, in ms (e.g. `() => performance.now()`)
   * @param rss the resident set size in bytes (e.g. `() => Deno.memoryUsage().rss`), read at each
   *   point only: where the memory went, at a few µs a read
   */
  constructor(now: () => number, rss?: () => number) {
    this.#now = now;
    this.#rss = rss;
  }

  mark(phase: string): void {
    const entry: TimingEntry = { phase, at: round(this.#now()) };
    if (this.#rss !== undefined) entry.rssMiB = Math.round(this.#rss() / 2 ** 20 * 10) / 10;
    this.#entries.push(entry);
  }

  /** Runs `fn` and records how long it took, also when it throws; a promise until it settles. */
  span<T>(phase: string, fn: () => T): T {
    const at = this.#now();
    const record = () => this.#entries.push({ phase, at: round(at), ms: round(this.#now() - at) });
    let value: T;
    try {
      value = fn();
    } catch (err) {
      record();
      throw err;
    }
    if (value instanceof Promise) {
      return value.finally(record) as T;
    }
    record();
    return value;
  }

  /**
   * Hands the timeline to `sink` when {@linkcode Timings.finish} is called (the debug logger of
   * the request registers itself here once the config says `logLevel: debug`).
   */
  onFinish(sink: (entries: readonly TimingEntry[]) => void): void {
    this.#sinks.push(sink);
  }

  /** Marks `phase` and gives the timeline to every sink registered so far, once. */
  finish(phase: string): void {
    this.mark(phase);
    const sinks = this.#sinks.splice(0);
    for (const sink of sinks) sink(this.entries());
  }

  /**
   * `target` with each method call recorded as a span named `<name>.<method>`, inheriting
   * everything else. The methods run on `target` itself: classes with private fields refuse
   * another `this`.
   */
  timed<T extends object>(target: T, name: string): T {
    const timed: Record<string, unknown> = Object.create(target);
    for (let o: object = target; o !== Object.prototype; o = Object.getPrototypeOf(o)) {
      for (const [key, { value }] of Object.entries(Object.getOwnPropertyDescriptors(o))) {
        if (typeof value !== "function" || key === "constructor" || Object.hasOwn(timed, key)) {
          continue;
        }
        timed[key] = (...args: unknown[]) =>
          this.span(`${name}.${key}`, () => Reflect.apply(value, target, args));
      }
    }
    return timed as T;
  }

  /** @returns the entries recorded so far, in order (spans are recorded when they end) */
  entries(): readonly TimingEntry[] {
    return [...this.#entries];
  }
}
