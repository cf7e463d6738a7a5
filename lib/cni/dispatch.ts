import { errorMessage } from "../error_message.ts";
import { type CmdArgs, parseCmdArgs } from "./env.ts";
import { CniError, CniErrorCode, toCniError } from "./errors.ts";
import { quote } from "./quote.ts";
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
  /** Reads one environment variable. */
  getenv(name: string): string | undefined;
  /** Reads all of stdin. */
  readStdin(): Promise<Uint8Array>;
  /** Writes to stdout (results and errors). */
  stdout(text: string): void;
  /** Writes to stderr (the about line; never results). */
  stderr(text: string): void;
}

/** One decoded request, handed to a handler. */
export interface CniRequest {
  args: CmdArgs;
  /** The negotiated version: results and errors are written in it. */
  cniVersion: CniVersion;
  /** The config as a JSON object (types not yet checked beyond `name` and the versions). */
  config: Record<string, unknown>;
  /** The config bytes exactly as received, for delegation to IPAM. */
  stdin: Uint8Array;
}

/** The plugin's command handlers. Each throws `CniError` on failure. */
export interface CniHandlers {
  add(req: CniRequest): Promise<Result>;
  del(req: CniRequest): Promise<void>;
  check(req: CniRequest): Promise<void>;
  status(req: CniRequest): Promise<void>;
  gc(req: CniRequest): Promise<void>;
}

/** Largest config accepted on stdin; anything bigger is not a network config. */
export const MAX_STDIN_BYTES = 4 * 1024 * 1024;

/** The network name pattern of the CNI specification. */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;

/**
 * Reads the config's protocol fields: JSON object, `name`, `cniVersion`/`cniVersions`.
 *
 * @param stdin the raw bytes
 * @returns the object and the negotiated version
 * @throws {CniError} code 6 (not JSON / not an object), 7 (name), 1 (version)
 */
export function decodeRequestConfig(
  stdin: Uint8Array,
): { config: Record<string, unknown>; cniVersion: CniVersion } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(stdin));
  } catch (cause) {
    const why = errorMessage(cause);
    throw new CniError(CniErrorCode.DecodingFailure, `error decoding network config: ${why}`, {
      cause,
    });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new CniError(
      CniErrorCode.DecodingFailure,
      `error decoding network config: expected a JSON object, got ${quote(json)}`,
    );
  }
  const config = json as Record<string, unknown>;
  const { name, cniVersion, cniVersions } = config;
  if (name === undefined || name === "") {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, "missing network name");
  }
  if (typeof name !== "string" || !NETWORK_NAME.test(name)) {
    throw new CniError(
      CniErrorCode.InvalidNetworkConfig,
      `invalid characters found in network name ${quote(name)}`,
      { details: `name must match ${NETWORK_NAME.source}` },
    );
  }
  if (cniVersion !== undefined && typeof cniVersion !== "string") {
    throw new CniError(
      CniErrorCode.DecodingFailure,
      `cniVersion must be a string, got ${quote(cniVersion)}`,
    );
  }
  if (
    cniVersions !== undefined &&
    (!Array.isArray(cniVersions) || !cniVersions.every((v) => typeof v === "string"))
  ) {
    throw new CniError(
      CniErrorCode.DecodingFailure,
      `cniVersions must be an array of strings, got ${quote(cniVersions)}`,
    );
  }
  return { config, cniVersion: negotiateVersion(cniVersion, cniVersions) };
}

/** The minimum config version of the commands that did not exist from the start. */
const MIN_VERSION: Partial<Record<CmdArgs["command"], CniVersion>> = {
  CHECK: "0.4.0",
  STATUS: "1.1.0",
  GC: "1.1.0",
};

/**
 * Runs one CNI invocation: validates the environment, decodes the config, routes to a handler
 * and writes the result or the error object. Never throws.
 *
 * @param io the process I/O
 * @param handlers the command handlers
 * @param about the line printed when `CNI_COMMAND` is empty
 * @returns the exit status (0 success, 1 error)
 */
export async function dispatch(io: CniIo, handlers: CniHandlers, about: string): Promise<number> {
  let version: CniVersion = CURRENT_VERSION;
  try {
    if ((io.getenv("CNI_COMMAND") ?? "") === "") {
      io.stderr(`${about}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(", ")}\n`);
      return 0;
    }
    const args = parseCmdArgs(io.getenv);
    if (args.command === "VERSION") {
      io.stdout(
        JSON.stringify({ cniVersion: CURRENT_VERSION, supportedVersions: SUPPORTED_VERSIONS }) +
          "\n",
      );
      return 0;
    }
    let stdin: Uint8Array;
    try {
      stdin = await io.readStdin();
    } catch (cause) {
      throw new CniError(CniErrorCode.IoFailure, `error reading from stdin: ${String(cause)}`, {
        cause,
      });
    }
    if (stdin.length > MAX_STDIN_BYTES) {
      throw new CniError(
        CniErrorCode.IoFailure,
        `error reading from stdin: config is ${stdin.length} bytes, more than ${MAX_STDIN_BYTES}`,
      );
    }
    // 1. The WASM validator reads the raw bytes before anything parses them: malformed,
    //    oversized or too deeply nested input never reaches JSON.parse, and no handler (so no
    //    side effect) runs for a config that breaks a rule.
    //    `deviceID` is required for ADD and CHECK only: DEL, STATUS and GC work without it.
    //    Imported here: compiling the module costs ~5 ms and 6 MiB that VERSION does not need.
    const { validateConfigBytes, ValidatorRule, violationError } = await import(
      "../config/validate_config.ts"
    );
    const violations = validateConfigBytes(stdin, {
      pluginConfig: true,
      requireDeviceId: args.command === "ADD" || args.command === "CHECK",
    });
    const invalid = violations.length === 0 ? undefined : violationError(violations);
    if (invalid !== undefined && violations.some((v) => v.rule <= ValidatorRule.Version)) {
      throw invalid;
    }
    // 2. The input is now one JSON object of bounded size and depth, with a valid name and
    //    version: parse it, so that a field's violation is reported in the config's version.
    const { config, cniVersion } = decodeRequestConfig(stdin);
    version = cniVersion;
    const floor = MIN_VERSION[args.command];
    if (floor !== undefined && !versionAtLeast(cniVersion, floor)) {
      throw new CniError(
        CniErrorCode.IncompatibleVersion,
        `config version does not allow ${args.command}: cniVersion ${
          quote(cniVersion)
        }, needs ${floor} or later`,
      );
    }
    if (invalid !== undefined) throw invalid;
    const req: CniRequest = { args, cniVersion, config, stdin };
    switch (args.command) {
      case "ADD": {
        const result = await handlers.add(req);
        // Imported here: it brings ipaddr.js, which only a result needs (~1 ms at start-up).
        const { formatResult } = await import("./result.ts");
        io.stdout(JSON.stringify(formatResult(result, cniVersion), null, 4));
        return 0;
      }
      case "DEL":
        await handlers.del(req);
        return 0;
      case "CHECK":
        await handlers.check(req);
        return 0;
      case "STATUS":
        await handlers.status(req);
        return 0;
      case "GC":
        await handlers.gc(req);
        return 0;
    }
  } catch (err) {
    io.stdout(JSON.stringify(toCniError(err).toJSON(version), null, 4) + "\n");
    return 1;
  }
}
