import { type CniRequest, failureFields } from "../cni/dispatch.ts";
import { CniError, CniErrorCode } from "../cni/errors.ts";
import { quote } from "../cni/quote.ts";
import type { NetConf } from "../config/load_net_conf.ts";
import { errorMessage } from "../error_message.ts";
import { createLogger, type Logger } from "../log.ts";
import { ConfinedPathError, PATH_RULES } from "../state/confined_path.ts";
import type { Deps } from "./deps.ts";

/** Each request's logger, once its handler built it: the failure record goes there too. */
const loggers = new WeakMap<CniRequest, Logger>();
/** How each request's rollback ended, once it ran. */
const rollbacks = new WeakMap<CniRequest, string>();

/** The fields every record of a request carries; `deviceID` from the config when it has one. */
function requestFields(req: CniRequest, deviceId: unknown): Record<string, unknown> {
  return {
    command: req.args.command,
    containerId: req.args.containerId,
    netns: req.args.netns,
    ifname: req.args.ifname,
    deviceID: typeof deviceId === "string" ? deviceId : "",
  };
}

/**
 * Builds the request's logger: every record names the container, netns, ifname and device.
 * Records go to the config's `logFile` when it names one, else to `deps.log` (stderr).
 *
 * A `logFile` whose path breaks a rule (a symbolic link on the way, a FIFO, a device, a
 * directory, a hard link; see {@linkcode PATH_RULES}) fails ADD with code 7 naming the rule,
 * before any kernel change. Otherwise a log file is a convenience, never a reason to fail the
 * request: when it cannot be opened (DEL, GC and STATUS whatever the reason), or a write to it
 * fails (a full disk), the records from then on go to `deps.log`, after one warning record that
 * names the file and the reason. That warning is written whatever `logLevel` says: an operator
 * who set `logFile` must learn why nothing reaches it.
 *
 * @param deps the dependencies
 * @param req the request
 * @param conf the decoded config; `null` for a DEL or GC config that broke a rule, whose
 *   `logFile` and `logLevel` cannot be trusted: records then go to `deps.log` at `info`
 * @returns the logger
 * @throws {CniError} code 7 on ADD for a `logFile` whose path breaks a rule
 */
export function requestLogger(deps: Deps, req: CniRequest, conf: NetConf | null): Logger {
  const log = buildLogger(deps, req, conf);
  loggers.set(req, log);
  // One record at the end of the command with its timeline, so a slow ADD can be explained.
  if (conf?.logLevel === "debug") {
    deps.timings?.onFinish((timings) => log.debug("timings", { timings }));
  }
  return log;
}

function buildLogger(deps: Deps, req: CniRequest, conf: NetConf | null): Logger {
  const base = {
    ...requestFields(req, conf?.deviceId),
    ...(conf?.pkey === undefined ? {} : { pkey: conf.pkey }),
  };
  if (conf === null) return createLogger(deps.log, "info", base);
  const logFile = conf.logFile;
  if (logFile === undefined) return createLogger(deps.log, conf.logLevel, base);

  // The fallback warnings bypass logLevel.
  const notice = createLogger(deps.log, "debug", base);
  let write = deps.log;
  let openFailure: { error: unknown } | null = null;
  try {
    write = deps.openLog(logFile);
  } catch (error) {
    if (
      req.args.command === "ADD" && error instanceof ConfinedPathError && PATH_RULES.has(error.rule)
    ) {
      throw new CniError(
        CniErrorCode.InvalidNetworkConfig,
        `logFile ${quote(logFile)} is invalid: ${error.reason}`,
        { details: `${error.rule}: ${error.message}`, cause: error },
      );
    }
    openFailure = { error };
  }
  const log = createLogger(
    (line) => {
      if (write !== deps.log) {
        try {
          write(line);
          return;
        } catch (error) {
          // Switch first: the warning itself goes to deps.log.
          write = deps.log;
          notice.warning("cannot write log file; logging to stderr instead", {
            logFile,
            error: errorMessage(error),
          });
        }
      }
      deps.log(line);
    },
    conf.logLevel,
    base,
  );
  if (openFailure !== null) {
    notice.warning("cannot open log file; logging to stderr instead", {
      logFile,
      error: errorMessage(openFailure.error),
    });
  }
  return log;
}

/**
 * Records how a request's rollback ended, for its failure record.
 *
 * @param req the request
 * @param failed the labels of the undo steps that failed (none: the device is as it was)
 */
export function noteRollback(req: CniRequest, failed: readonly string[]): void {
  rollbacks.set(
    req,
    failed.length === 0 ? "complete" : `incomplete: ${failed.join("; ")}; DEL will retry`,
  );
}

/**
 * Writes the one error record of a failed request, whatever `logLevel` says: to the request's
 * log (its `logFile`, or `deps.log` after the warning) once its handler built it, else to
 * `deps.log`.
 *
 * @param deps the dependencies
 * @param req the request
 * @param err the error the runtime is told
 */
export function logFailure(deps: Deps, req: CniRequest, err: CniError): void {
  const log = loggers.get(req) ??
    createLogger(deps.log, "error", requestFields(req, req.config.deviceID));
  log.error(`${req.args.command} failed`, failureFields(err, rollbacks.get(req) ?? "none"));
}
