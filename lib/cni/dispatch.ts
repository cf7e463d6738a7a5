import { MAX_CONFIG_BYTES } from "../config/limits.ts";
import { createLogger } from "../log.ts";
import { type CmdArgs, parseCmdArgs } from "./env.ts";
import { CniError, CniErrorCode, toCniError } from "./errors.ts";
import { quote } from "./quote.ts";
import type { ValidatorRule, Violation } from "../config/validate_config.ts";
import type { Result } from "./result.ts";
import {
  type CniVersion,
  CURRENT_VERSION,
  negotiateVersion,
  SUPPORTED_VERSIONS,
  versionAtLeast,
} from "./versions.ts";

/** The process I/O the dispatcher needs; `cli.ts` passes the real one, tests pass buffers. */
export interface CniIo {
  getenv(name: string): string | undefined;
  readStdin(): Promise<Uint8Array>;
  /** Results and errors. */
  stdout(text: string): void;
  /** The about line and error records; never results. */
  stderr(text: string): void;
}

/** One decoded request, handed to a handler. */
export interface CniRequest {
  args: CmdArgs;
  /** The negotiated version: results and errors are written in it. */
  cniVersion: CniVersion;
  /** The config as a JSON object, accepted by the config validator for this command. */
  config: Record<string, unknown>;
  /** The validator's warnings about it: fields the handler ignores (`decodeNetConf()`). */
  warnings?: Violation[];
  /** The config bytes exactly as received, for delegation to IPAM. */
  stdin: Uint8Array;
  /**
   * Why the config broke the validator's rules, for DEL and GC only: they go on without it (see
   * {@link TOLERANT}). `config` is then `{}` when stdin is not a JSON object.
   */
  configProblem?: CniError;
}

/** The plugin's command handlers. Each throws `CniError` on failure. */
export interface CniHandlers {
  add(req: CniRequest): Promise<Result>;
  del(req: CniRequest): Promise<void>;
  check(req: CniRequest): Promise<void>;
  status(req: CniRequest): Promise<void>;
  gc(req: CniRequest): Promise<void>;
  /**
   * Writes the failure record of a request that reached a handler, where its log goes (its
   * `logFile`). When absent or when it throws, the record goes to stderr.
   */
  failed?(req: CniRequest, err: CniError): Promise<void>;
}

/**
 * The fields of a failure record: what the runtime is told, and how the rollback ended (`none`,
 * `complete`, or `incomplete: <steps>; ...`).
 */
export function failureFields(err: CniError, rollback: string): Record<string, unknown> {
  return { code: err.code, error: err.message, details: err.details, rollback };
}

/**
 * Writes the one error record of a failed command: through the handlers for a request that reached
 * one, else (and when that fails) to stderr. Never on stdout, which carries the error object.
 */
async function logFailure(
  io: CniIo,
  handlers: CniHandlers,
  req: CniRequest | undefined,
  err: CniError,
): Promise<void> {
  if (req !== undefined && handlers.failed !== undefined) {
    try {
      await handlers.failed(req, err);
      return;
    } catch {
      // The log file or the dependencies failed: stderr still gets the record.
    }
  }
  const command = req?.args.command ?? io.getenv("CNI_COMMAND") ?? "";
  createLogger(io.stderr, "error", { command }).error(
    `${command} failed`,
    failureFields(err, "none"),
  );
}

/** The minimum config version of the commands that did not exist from the start. */
const MIN_VERSION: Partial<Record<CmdArgs["command"], CniVersion>> = {
  CHECK: "0.4.0",
  STATUS: "1.1.0",
  GC: "1.1.0",
};

/**
 * The commands that go on when the config breaks a rule, working from the attachment records:
 * a DEL that fails leaves the pod in Terminating while kubelet retries it forever, and GC is
 * DEL for the attachments the runtime forgot. Each lists the rules it cannot do without; the
 * other commands cannot do without any.
 *
 * - DEL needs only a version to answer in: a config that is not even JSON gets the latest.
 * - GC needs the network's name (which attachments are its own) and so a JSON object.
 */
const TOLERANT: Partial<
  Record<CmdArgs["command"], (rule: number, rules: typeof ValidatorRule) => boolean>
> = {
  DEL: (rule, rules) => rule === rules.VersionType || rule === rules.Version,
  GC: (rule, rules) => rule <= rules.Version,
};

/** Prints the about line and the supported versions, for an empty `CNI_COMMAND`. */
function printAbout(io: CniIo, about: string): number {
  io.stderr(`${about}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(", ")}\n`);
  return 0;
}

/** Answers VERSION, which reads no config. */
function printVersion(io: CniIo): number {
  io.stdout(
    JSON.stringify({ cniVersion: CURRENT_VERSION, supportedVersions: SUPPORTED_VERSIONS }) + "\n",
  );
  return 0;
}

/** Reads the config from stdin, at most {@link MAX_CONFIG_BYTES}; code 5 otherwise. */
async function readConfig(io: CniIo): Promise<Uint8Array> {
  let stdin: Uint8Array;
  try {
    stdin = await io.readStdin();
  } catch (cause) {
    throw new CniError(CniErrorCode.IoFailure, `error reading from stdin: ${String(cause)}`, {
      cause,
    });
  }
  if (stdin.length > MAX_CONFIG_BYTES) {
    throw new CniError(
      CniErrorCode.IoFailure,
      `error reading from stdin: config is ${stdin.length} bytes, more than ${MAX_CONFIG_BYTES}`,
    );
  }
  return stdin;
}

/** What the validator found in a config the command can go on with. */
interface Validated {
  /** The violations, as one error: thrown once the version is known, unless {@link TOLERANT}. */
  invalid?: CniError;
  /** Whether stdin is one JSON object (only a tolerant DEL goes on without one). */
  object: boolean;
  warnings: Violation[];
}

/**
 * Runs the config validator over the raw bytes, before anything parses them: malformed,
 * oversized or too deeply nested input never reaches JSON.parse, and no handler (so no side
 * effect) runs for a config that breaks a rule. `deviceID` is required for ADD and CHECK only:
 * DEL, STATUS and GC work without it.
 *
 * @throws {CniError} at once, when the input is not a JSON object with a valid name and version
 *   (for a {@link TOLERANT} command: when it breaks a rule the command cannot do without)
 */
async function validateConfig(stdin: Uint8Array, command: CmdArgs["command"]): Promise<Validated> {
  // Imported here: compiling the module costs ~5 ms and 6 MiB that VERSION does not need.
  const { commandOptions, validateConfigBytes, ValidatorRule, violationError } = await import(
    "../config/validate_config.ts"
  );
  const found = validateConfigBytes(stdin, commandOptions(command));
  // Warnings (the logging fields) never stop a command: the handler's config says why.
  const warnings = found.filter((v) => v.severity === "warning");
  const violations = found.filter((v) => v.severity === "error");
  if (violations.length === 0) return { object: true, warnings };
  const invalid = violationError(violations);
  const fatal = TOLERANT[command] ?? ((rule) => rule <= ValidatorRule.Version);
  if (violations.some((v) => fatal(v.rule, ValidatorRule))) throw invalid;
  return {
    invalid,
    object: !violations.some((v) => v.rule <= ValidatorRule.NotObject),
    warnings,
  };
}

/** Parses a config the validator found to be a JSON object with a valid version; negotiates it. */
function decodeRequestConfig(
  stdin: Uint8Array,
): { config: Record<string, unknown>; cniVersion: CniVersion } {
  const config = JSON.parse(new TextDecoder().decode(stdin)) as Record<string, unknown>;
  const { cniVersion, cniVersions } = config as { cniVersion?: string; cniVersions?: string[] };
  return { config, cniVersion: negotiateVersion(cniVersion, cniVersions) };
}

/** Refuses a command that the config's version predates (code 1). */
function checkCommandVersion(command: CmdArgs["command"], cniVersion: CniVersion): void {
  const floor = MIN_VERSION[command];
  if (floor !== undefined && !versionAtLeast(cniVersion, floor)) {
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `config version does not allow ${command}: cniVersion ${
        quote(cniVersion)
      }, needs ${floor} or later`,
    );
  }
}

/** Runs the command's handler and writes ADD's result; returns the exit status. */
async function route(
  io: CniIo,
  handlers: CniHandlers,
  command: Exclude<CmdArgs["command"], "VERSION">,
  req: CniRequest,
): Promise<number> {
  if (command === "ADD") {
    const result = await handlers.add(req);
    // Imported here: it brings ipaddr.js, which only a result needs (~1 ms at start-up).
    const { formatResult } = await import("./result.ts");
    io.stdout(JSON.stringify(formatResult(result, req.cniVersion), null, 4));
  } else {
    await handlers[command.toLowerCase() as Lowercase<typeof command>](req);
  }
  return 0;
}

/**
 * Runs one CNI invocation: validates the environment, decodes the config, routes to a handler
 * and writes the result, or the error object and one error record. Never throws.
 *
 * @param about the line printed when `CNI_COMMAND` is empty
 * @returns the exit status (0 success, 1 error)
 */
export async function dispatch(io: CniIo, handlers: CniHandlers, about: string): Promise<number> {
  // Errors are written in the config's version once it is known, in the latest before.
  let version: CniVersion = CURRENT_VERSION;
  let req: CniRequest | undefined;
  try {
    if ((io.getenv("CNI_COMMAND") ?? "") === "") return printAbout(io, about);
    // 1. The environment, before stdin is read.
    const args = parseCmdArgs(io.getenv);
    if (args.command === "VERSION") return printVersion(io);
    // 2. The config's bytes, bounded.
    const stdin = await readConfig(io);
    // 3. The validator: a config that is not an object with a valid name and version stops here.
    const { invalid, object, warnings } = await validateConfig(stdin, args.command);
    // 4. Parse, so that the remaining errors are reported in the config's version.
    const { config, cniVersion } = object
      ? decodeRequestConfig(stdin)
      : { config: {}, cniVersion: CURRENT_VERSION };
    version = cniVersion;
    checkCommandVersion(args.command, cniVersion);
    if (invalid !== undefined && TOLERANT[args.command] === undefined) throw invalid;
    // 5. The handler.
    req = { args, cniVersion, config, stdin };
    if (warnings.length > 0) req.warnings = warnings;
    if (invalid !== undefined) req.configProblem = invalid;
    return await route(io, handlers, args.command, req);
  } catch (err) {
    const cni = toCniError(err);
    io.stdout(JSON.stringify(cni.toJSON(version), null, 4) + "\n");
    // 6. One error record, whatever logLevel says.
    await logFailure(io, handlers, req, cni);
    return 1;
  }
}
