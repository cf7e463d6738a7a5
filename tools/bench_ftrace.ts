/**
 * The moments of one plugin run that `make bench` reads from the kernel's own tracer (ftrace), the
 * same way for both plugins: when the process started and exited, its netns move, its IPAM
 * plugin. Tracepoints cost the traced process nothing measurable, where strace would stop Deno's
 * every new thread (and so its start-up) far more than host-device's.
 *
 * The move is the plugin's longest netlink request (`sendmsg` or `sendto`): the kernel moves a
 * netdev inside the request, and its `rcu_barrier()` makes it 10 to 30 ms, where every other
 * request of either plugin takes well under 1 ms (docs/performance.md, "The netns move").
 *
 * @module
 */
import { join } from "node:path";

/** Where the kernel's tracer is mounted. */
export const TRACEFS = "/sys/kernel/tracing";

const EVENTS = [
  "sched/sched_process_fork",
  "sched/sched_process_exec",
  "sched/sched_process_exit",
  "syscalls/sys_enter_sendmsg",
  "syscalls/sys_exit_sendmsg",
  "syscalls/sys_enter_sendto",
  "syscalls/sys_exit_sendto",
];

/** The instances open now: {@linkcode KernelTrace.closeAll} closes them on Ctrl-C. */
const instances = new Set<KernelTrace>();

/** What one run did, in ms since the plugin's `execve`. */
export interface RunTrace {
  /** The exit of its first thread. */
  exit: number;
  /** The start of its first netlink request; `null` when it sent none. */
  firstRequest: number | null;
  /** The netns move: its longest netlink request; `null` when it sent none. */
  move: { start: number; ms: number } | null;
  /** Its IPAM plugin's process, from the `execve` to its exit; `null` when none ran. */
  ipam: { start: number; end: number } | null;
}

/**
 * A trace instance of its own (`instances/<name>`: its own buffer and events, so that it neither
 * disturbs nor sees another user of the tracer), recording the events above with the thread
 * group of each.
 */
export class KernelTrace {
  readonly #dir: string;
  readonly #mounted: boolean;

  private constructor(dir: string, mounted: boolean) {
    this.#dir = dir;
    this.#mounted = mounted;
  }

  /**
   * @param name the instance's name
   * @returns the running instance, or `null` when the kernel has no tracer or no syscall
   *   tracepoints (the reason on stderr's progress line is the caller's)
   */
  static async open(name: string): Promise<KernelTrace | null> {
    let mounted = false;
    if (!await isDir(join(TRACEFS, "instances"))) {
      const out = await new Deno.Command("mount", {
        args: ["-t", "tracefs", "nodev", TRACEFS],
        stdout: "null",
        stderr: "null",
      }).output();
      if (!out.success) return null;
      mounted = true;
    }
    const dir = join(TRACEFS, "instances", name);
    if (!await isDir(dir)) await Deno.mkdir(dir);
    const trace = new KernelTrace(dir, mounted);
    instances.add(trace);
    try {
      await trace.#write("trace_clock", "mono");
      await trace.#write("options/record-tgid", "1");
      await trace.#write("buffer_size_kb", "4096");
      for (const event of EVENTS) await trace.#write(`events/${event}/enable`, "1");
      await trace.#write("tracing_on", "1");
    } catch (err) {
      await trace.close();
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
    return trace;
  }

  /** Empties the buffer. */
  clear(): Promise<void> {
    return this.#write("trace", "");
  }

  /** @returns the buffer as text */
  read(): Promise<string> {
    return Deno.readTextFile(join(this.#dir, "trace"));
  }

  /** Closes every instance still open (each stops recording only when closed). */
  static async closeAll(): Promise<void> {
    for (const trace of instances) await trace.close();
  }

  /** Stops the instance and removes it (and the tracer's mount, when {@linkcode open} made it). */
  async close(): Promise<void> {
    instances.delete(this);
    await this.#write("tracing_on", "0").catch(() => {});
    await Deno.remove(this.#dir).catch(() => {});
    if (this.#mounted) {
      await new Deno.Command("umount", { args: [TRACEFS], stdout: "null", stderr: "null" })
        .output();
    }
  }

  #write(file: string, text: string): Promise<void> {
    return Deno.writeTextFile(join(this.#dir, file), text);
  }
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** `comm-pid (tgid) [cpu] flags seconds: event…`, the format with `record-tgid`. */
const LINE = /^\s*.+-(\d+)\s+\(\s*(\d+|-+)\)\s+\[\d+\]\s+\S+\s+(\d+\.\d+):\s+(.*)$/;

/**
 * @param text the instance's buffer after one run
 * @param program the path the plugin was started by (its `execve` names it)
 * @param ipamPlugin the IPAM plugin's file name (`host-local`)
 * @returns the run's moments
 * @throws {Error} when the buffer has no `execve` of `program` or no exit of that process
 */
export function parseRunTrace(text: string, program: string, ipamPlugin: string): RunTrace {
  const events = text.split("\n").flatMap((line) => {
    const m = LINE.exec(line);
    return m === null ? [] : [{ pid: m[1]!, tgid: m[2]!, seconds: Number(m[3]), what: m[4]! }];
  });
  const start = events.find((e) =>
    e.what.startsWith("sched_process_exec:") && e.what.includes(`filename=${program} `)
  );
  if (start === undefined) throw new Error(`The trace has no execve of ${program}`);
  const plugin = start.pid;
  const ms = (seconds: number) => (seconds - start.seconds) * 1000;
  const children = new Set<string>();
  const sending = new Map<string, number>();
  let exit: number | null = null;
  let firstRequest: number | null = null;
  let move: RunTrace["move"] = null;
  let ipamPid: string | null = null;
  let ipam: RunTrace["ipam"] = null;
  for (const e of events) {
    if (e.seconds < start.seconds) continue;
    const field = (name: string) => new RegExp(`\\b${name}=(\\S+)`).exec(e.what)?.[1];
    if (e.what.startsWith("sched_process_fork:") && e.tgid === plugin) {
      children.add(field("child_pid") ?? "");
    } else if (e.what.startsWith("sched_process_exec:") && children.has(e.pid)) {
      if (field("filename")?.endsWith(`/${ipamPlugin}`)) {
        ipamPid = e.pid;
        ipam = { start: ms(e.seconds), end: ms(e.seconds) };
      }
    } else if (e.what.startsWith("sched_process_exit:")) {
      if (e.pid === plugin) exit ??= ms(e.seconds);
      if (e.pid === ipamPid && ipam !== null) ipam.end = ms(e.seconds);
    } else if (e.tgid === plugin && /^sys_send(msg|to)\(/.test(e.what)) {
      sending.set(e.pid, e.seconds);
      firstRequest ??= ms(e.seconds);
    } else if (e.tgid === plugin && /^sys_send(msg|to) -> /.test(e.what)) {
      const since = sending.get(e.pid);
      sending.delete(e.pid);
      const took = since === undefined ? 0 : (e.seconds - since) * 1000;
      if (since !== undefined && took > (move?.ms ?? 0)) move = { start: ms(since), ms: took };
    }
  }
  if (exit === null) throw new Error(`The trace has no exit of ${program}`);
  return { exit, firstRequest, move, ipam };
}
