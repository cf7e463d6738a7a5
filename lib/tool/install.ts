/**
 * `ib-sriov install`: the container image's entrypoint, a drop-in for the Go plugin's
 * `thin_entrypoint` (same flags, which the SR-IOV network operator passes). It copies the running
 * plugin into the node's CNI bin directory, atomically, then waits for SIGTERM so that a
 * DaemonSet's pod stays up (or, with `--no-sleep`, exits: the operator's init container).
 *
 * @module
 */
import { errorMessage } from "../error_message.ts";
import { createLogger, type Logger } from "../log.ts";
import { join } from "../path.ts";
import { PLUGIN_TYPE } from "../config/limits.ts";
import type { Program, ToolIo } from "./tool_io.ts";
import { UsageError } from "./usage_error.ts";

/** Where the operator's DaemonSet mounts the host's CNI bin directory (the Go default). */
export const DEFAULT_CNI_BIN_DIR = "/host/opt/cni/bin";
/** The host's CNI bin directory, as the node (not the container) names it. */
export const DEFAULT_HOST_CNI_BIN_DIR = "/opt/cni/bin";
/** The directory beside the plugin that holds the Deno runtime the bundle runs on. */
export const RUNTIME_DIR = "ib-sriov.d";
/**
 * Linux reads only the first 255 bytes of a `#!` line (BINPRM_BUF_SIZE, less the newline) and
 * drops the rest without a word, which would cut the permission flags.
 */
export const MAX_SHEBANG_BYTES = 255;
/**
 * The bundle's `#!` line, as `make bundle` writes it (tools/permissions.ts): `env -S`, its
 * variable assignments (`DENO_DIR=…`), then `deno` from PATH and its arguments.
 */
const BUNDLE_LINE = /^#!\/usr\/bin\/env -S ((?:[A-Z_][A-Z0-9_]*=\S* )*)deno (.*)$/;
/** How {@linkcode BUNDLE_LINE} reads, for the error about a file that is not the bundle. */
const BUNDLE_LINE_SHAPE = "#!/usr/bin/env -S [NAME=value ...] deno ";

/** What gets installed: the compiled binary, or the bundle with the runtime it runs on. */
export type InstallSource =
  | { kind: "binary"; binary: string }
  | { kind: "bundle"; script: string; runtime: string };

/** What the running program can install; `null` for no installable build (run from `cli.ts`). */
export function installSource(program: Program): InstallSource | null {
  if (program.standalone) return { kind: "binary", binary: program.execPath };
  const url = new URL(program.mainModule);
  if (url.protocol !== "file:" || !url.pathname.endsWith(".js")) return null;
  return { kind: "bundle", script: decodeURIComponent(url.pathname), runtime: program.execPath };
}

/**
 * The bundle with its first line pointing at the installed `runtime` (its path as the node sees
 * it) instead of a `deno` on PATH.
 *
 * @throws {Error} when `script` does not start with the bundle's `#!` line, or the new line
 *   would be longer than {@linkcode MAX_SHEBANG_BYTES}
 */
export function pointShebangAt(script: Uint8Array, runtime: string): Uint8Array {
  const text = new TextDecoder().decode(script);
  const end = text.indexOf("\n");
  const first = end < 0 ? text : text.slice(0, end);
  const match = BUNDLE_LINE.exec(first);
  if (match === null) {
    throw new Error(
      `the bundle does not start with ${
        JSON.stringify(BUNDLE_LINE_SHAPE)
      } (rebuild it with make bundle)`,
    );
  }
  const line = `#!/usr/bin/env -S ${match[1]}${runtime} ${match[2]}`;
  const bytes = new TextEncoder().encode(line).length;
  if (bytes > MAX_SHEBANG_BYTES) {
    throw new Error(
      `the plugin's #! line would be ${bytes} bytes with the runtime at "${runtime}", and Linux reads only ${MAX_SHEBANG_BYTES}: use a shorter --host-cni-bin-dir`,
    );
  }
  return new TextEncoder().encode(line + text.slice(first.length));
}

/** The errno behind a failure, from the first error in the cause chain that carries one. */
function errnoOf(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
  }
  return undefined;
}

/** What a node operator should read for the errnos an install meets in practice. */
const ERRNO_REASONS: Readonly<Record<string, string>> = {
  EROFS: "the file system is read-only (mount the host's CNI bin directory read-write)",
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is exhausted",
  EACCES: "permission denied (the installer must run as root)",
  EPERM: "permission denied (the installer must run as root)",
};

/** The flags of `install` and their defaults; `ib-sriov-cni-bin-file` defaults to the plugin. */
const FLAGS = {
  "cni-bin-dir": DEFAULT_CNI_BIN_DIR,
  "host-cni-bin-dir": DEFAULT_HOST_CNI_BIN_DIR,
  "ib-sriov-cni-bin-file": null as string | null,
  "no-sleep": false,
};
type Flags = typeof FLAGS;

/** What Go's `strconv.ParseBool` reads as true and as false: its `flag` package uses it. */
const GO_TRUE = ["1", "t", "T", "TRUE", "true", "True"];
const GO_FALSE = ["0", "f", "F", "FALSE", "false", "False"];

/**
 * Reads `args` by the rules of Go's `flag` package, as the Go plugin's entrypoint does: `-name`
 * or `--name`; `-name=value` or `-name value` (a boolean takes only `=value`); `--` ends the
 * flags. Go ignores every argument from the first that is not a flag on, flags included, so
 * such an argument is refused here instead.
 */
function parseFlags(args: string[]): Flags {
  const flags: Flags = { ...FLAGS };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      if (i + 1 < args.length) throw unexpected(args[i + 1]!);
      break;
    }
    if (!arg.startsWith("-") || arg === "-") throw unexpected(arg);
    const match = /^--?([^-=][^=]*)(?:=(.*))?$/s.exec(arg);
    if (match === null) throw new UsageError(`bad flag syntax: ${JSON.stringify(arg)}`);
    const [, name = "", value] = match;
    const spelled = JSON.stringify(value === undefined ? arg : arg.slice(0, arg.indexOf("=")));
    if (!Object.hasOwn(FLAGS, name)) {
      throw new UsageError(
        `unknown flag ${spelled}: install takes -cni-bin-dir, -host-cni-bin-dir, -ib-sriov-cni-bin-file and -no-sleep, with one dash or two`,
      );
    }
    const key = name as keyof Flags;
    if (key === "no-sleep") {
      if (value !== undefined && !GO_TRUE.includes(value) && !GO_FALSE.includes(value)) {
        throw new UsageError(
          `flag ${spelled} takes ${[...GO_TRUE, ...GO_FALSE].join(", ")}, not ${
            JSON.stringify(value)
          }`,
        );
      }
      flags[key] = value === undefined || GO_TRUE.includes(value);
    } else if (value !== undefined) {
      flags[key] = value;
    } else if (i + 1 < args.length) {
      flags[key] = args[++i]!;
    } else {
      throw new UsageError(`flag ${spelled} needs a value`);
    }
  }
  return flags;
}

function unexpected(arg: string): UsageError {
  return new UsageError(`unexpected argument ${JSON.stringify(arg)}: install takes only flags`);
}

/**
 * `ib-sriov install [--cni-bin-dir DIR] [--host-cni-bin-dir DIR] [--ib-sriov-cni-bin-file FILE]
 * [--no-sleep]`, with the flags as Go's `flag` package reads them (see `parseFlags`).
 *
 * 1. Find what to install: the compiled binary, or the bundle and the runtime running it.
 * 2. For the bundle: install the runtime as `<dir>/ib-sriov.d/deno` first, so the plugin never
 *    points at a runtime that is not there yet.
 * 3. Install the plugin as `<dir>/ib-sriov` (the bundle with its `#!` line pointing at the
 *    runtime by its path on the node, `--host-cni-bin-dir`).
 * 4. Without `--no-sleep`, wait for SIGTERM or SIGINT, as a DaemonSet's container must.
 *
 * Progress and errors are JSON lines on stderr, like the plugin's log.
 *
 * @returns 0 when installed (and, without `--no-sleep`, signalled), 1 when the install failed
 * @throws {UsageError} for a flag Go's `flag` package would refuse, an argument that is not a
 *   flag, a host directory the `#!` line cannot name, or a plugin file that is not this one
 */
export async function runInstall(args: string[], io: ToolIo): Promise<number> {
  const flags = parseFlags(args);
  const dir = flags["cni-bin-dir"];
  const hostDir = flags["host-cni-bin-dir"];
  // `env -S` splits the #! line at blanks and expands `\` and `${`: a path with those would not
  // name the runtime.
  if (!hostDir.startsWith("/") || /[\s\\$"']/.test(hostDir)) {
    throw new UsageError(
      `--host-cni-bin-dir ${
        JSON.stringify(hostDir)
      }: expected an absolute path without blanks, quotes, "\\" or "$"`,
    );
  }
  const source = installSource(io.program);
  // The Go entrypoint copies the file this names; install copies only itself.
  const own = source?.kind === "binary" ? source.binary : source?.script;
  const file = flags["ib-sriov-cni-bin-file"];
  if (file !== null && own !== undefined && file !== own) {
    throw new UsageError(
      `--ib-sriov-cni-bin-file ${
        JSON.stringify(file)
      }: install copies only the plugin it runs from, ${JSON.stringify(own)}; leave the flag out`,
    );
  }
  const log = createLogger(io.stderr, "info", { cniBinDir: dir });
  const failure = install(io, log, source, dir, hostDir);
  if (failure !== null) {
    log.error(failure);
    return 1;
  }
  if (flags["no-sleep"]) return 0;
  log.info("waiting for SIGTERM or SIGINT");
  const signal = await io.waitForSignal();
  log.info("exiting", { signal });
  return 0;
}

/** Installs the plugin; returns why it cannot, naming the directory or file and the reason. */
function install(
  io: ToolIo,
  log: Logger,
  source: InstallSource | null,
  dir: string,
  hostDir: string,
): string | null {
  const installer = io.installer();
  if (source === null) {
    return `Cannot install from "${io.program.mainModule}": run install from the bundle (make bundle) or the compiled binary (make build)`;
  }
  const fail = (err: unknown) =>
    `Cannot install into "${dir}": ${ERRNO_REASONS[errnoOf(err) ?? ""] ?? errorMessage(err)}`;
  try {
    if (!installer.isDirectory(dir)) {
      return `Cannot install into "${dir}": the directory does not exist (mount the host's CNI bin directory there, or pass --cni-bin-dir)`;
    }
  } catch (err) {
    return fail(err);
  }
  const plugin = join(dir, PLUGIN_TYPE);
  if (source.kind === "binary") {
    log.info("installing", { from: source.binary, to: plugin });
    try {
      installer.writeFile(plugin, { copyFrom: source.binary }, 0o755);
    } catch (err) {
      return fail(err);
    }
    log.info("installed", { path: plugin });
    return null;
  }
  // The runtime first: the plugin names it.
  const runtimeDir = join(dir, RUNTIME_DIR);
  const runtime = join(runtimeDir, "deno");
  const hostRuntime = join(hostDir, RUNTIME_DIR, "deno");
  let script: Uint8Array;
  try {
    script = pointShebangAt(installer.readFile(source.script), hostRuntime);
  } catch (err) {
    return `Cannot install "${source.script}": ${errorMessage(err)}`;
  }
  log.info("installing", { from: source.runtime, to: runtime });
  try {
    installer.makeDir(runtimeDir);
    installer.writeFile(runtime, { copyFrom: source.runtime }, 0o755);
  } catch (err) {
    return fail(err);
  }
  log.info("installing", { from: source.script, to: plugin, runtime: hostRuntime });
  try {
    installer.writeFile(plugin, script, 0o755);
  } catch (err) {
    return fail(err);
  }
  log.info("installed", { path: plugin, runtime: hostRuntime });
  return null;
}
