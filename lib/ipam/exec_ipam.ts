import { errorMessage } from "../error_message.ts";
import { isFileName, join } from "../path.ts";
import { quote } from "../cni/quote.ts";
import { LibcError } from "../../ffi/errno.ts";
import { type PipedRun, runPiped } from "../../ffi/ipam_libc.ts";
import type { Ipam, IpamRequest } from "./ipam.ts";
import { IpamError } from "./ipam_error.ts";

/** Default limit for one delegated call; host-local answers in milliseconds. */
const DEFAULT_TIMEOUT_MS = 60_000;
/** Stdout kept from the delegate: a result is a few KiB; more is a broken plugin. */
const MAX_STDOUT_BYTES = 1 << 20;
/** Raw output quoted in an error's details. */
const MAX_DETAILS_CHARS = 4096;

export interface ExecIpamOptions {
  /**
   * Kill the delegate after this long (`timed-out`, which the runtime retries): a hung IPAM
   * plugin must not hold our node lock forever.
   */
  timeoutMs?: number;
}

/**
 * Runs IPAM plugins the way libcni does: the executable named `ipam.type`, found in `CNI_PATH`,
 * with the network config on stdin and this process's whole environment, `CNI_COMMAND` set to
 * the delegated command. Call it from the host network namespace.
 *
 * NOTE: libcni's `invoke.Delegate*` (ADD, DEL, CHECK, STATUS, GC) run the delegate with
 * `os.Environ()` and only `CNI_COMMAND` overridden, so IPAM plugins such as whereabouts, or a
 * site's own, may read any variable the runtime gave us. The child inherits it from the OS (no
 * `--allow-env` grant is involved), with the request's `CNI_*` (the same values in production)
 * on top.
 */
export class ExecIpam implements Ipam {
  readonly #timeoutMs: number;

  constructor(options: ExecIpamOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * The plugin is looked up by trying to start `<dir>/<type>` for each `CNI_PATH` entry in
   * order, moving on when the file does not exist. The directories are never `stat`ed: the
   * plugin's read permission does not cover them, and starting the file is the real test.
   *
   * The process waits for its delegate synchronously, as libcni does.
   */
  // deno-lint-ignore require-await -- async only so that a throw reaches the caller as a rejection
  async exec(req: IpamRequest): Promise<unknown> {
    const type = req.type;
    if (!isFileName(type)) {
      throw new IpamError("invalid-type", `invalid ipam.type ${quote(type)}`, {
        pluginType: type,
        details: "ipam.type must be the file name of a plugin in CNI_PATH",
      });
    }
    const env: Record<string, string> = { ...req.env, CNI_COMMAND: req.command };
    const cniPath = req.env["CNI_PATH"] ?? "";
    for (const dir of cniPath.split(":")) {
      if (dir === "") continue;
      const file = join(dir, type);
      let run: PipedRun;
      try {
        // The delegate's stderr is ours: its log lines go where ours go; stdout is its result.
        run = runPiped(file, [file], env, req.stdin, {
          timeoutMs: this.#timeoutMs,
          maxStdout: MAX_STDOUT_BYTES,
          now: () => performance.now(),
        });
      } catch (err) {
        if (err instanceof LibcError && err.errnoName === "ENOENT" && err.op === "posix_spawn") {
          continue;
        }
        throw new IpamError(
          "cannot-run",
          `Cannot run IPAM plugin ${quote(file)}: ${errorMessage(err)}`,
          { pluginType: type, cause: err },
        );
      }
      return this.#outcome(run, req);
    }
    throw new IpamError(
      "not-found",
      `IPAM plugin ${quote(type)} not found in CNI_PATH ${quote(cniPath)}`,
      { pluginType: type },
    );
  }

  /** The delegate's result, or the error its status and output tell. */
  #outcome(run: PipedRun, req: IpamRequest): unknown {
    const type = req.type;
    const context = `IPAM plugin ${quote(type)} ${req.command} failed`;
    if (run.status === "timeout") {
      throw new IpamError(
        "timed-out",
        `timed out after ${this.#timeoutMs} ms; killed`,
        { pluginType: type, context },
      );
    }
    const text = new TextDecoder().decode(run.stdout).trim();
    if ("exited" in run.status && run.status.exited === 0) {
      if (text === "") return null;
      try {
        return JSON.parse(text);
      } catch (err) {
        throw new IpamError("bad-output", "printed invalid JSON", {
          pluginType: type,
          context,
          details: bounded(text),
          cause: err,
        });
      }
    }
    const reported = parseCniError(text);
    if (reported !== null) {
      const { msg, ...fields } = reported;
      throw new IpamError("reported", msg, { pluginType: type, context, ...fields });
    }
    const how = "exited" in run.status
      ? `exit status ${run.status.exited}`
      : `signal ${run.status.signal}`;
    throw new IpamError("bad-output", `ended with ${how} and no error object`, {
      pluginType: type,
      context,
      details: bounded(text),
    });
  }
}

/** The delegate's `{code, msg, details}`, when it printed one; no code when its code is bad. */
function parseCniError(text: string): { code?: number; msg: string; details: string } | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== "object" || raw === null) return null;
  const { code, msg, details } = raw as Record<string, unknown>;
  if (typeof msg !== "string") return null;
  return {
    ...(typeof code === "number" && Number.isInteger(code) && code > 0 ? { code } : {}),
    msg,
    details: typeof details === "string" ? details : "",
  };
}

function bounded(text: string): string {
  return text.length <= MAX_DETAILS_CHARS
    ? text
    : `${text.slice(0, MAX_DETAILS_CHARS)}… (${text.length} chars)`;
}
