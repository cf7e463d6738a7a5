import { type CniRequest, failureFields } from "../cni/dispatch.ts";
import type { CniError } from "../cni/errors.ts";
import type { NetConf } from "../config/load_net_conf.ts";
import { errorMessage } from "../error_message.ts";
import { createLogger, type Logger } from "../log.ts";
import { StateError } from "../state/state_error.ts";
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
 * Logging never fails a command. A logging field the validator warns about is ignored, and a
 * log file that cannot be opened (a path that breaks a rule: a symbolic link on the way, a FIFO,
 * a device, a directory, a hard link; or the node's state: a missing directory, a full disk)
 * or written sends the records from then on to `deps.log`. Each of these writes one warning
 * record naming the rule or the reason, whatever `logLevel` says: an operator who set a logging
 * field must learn why it is not used.
 *
 * @param conf the decoded config; `null` for a DEL or GC config that broke a rule, whose
 *   `logFile` and `logLevel` cannot be trusted: records then go to `deps.log` at `info`
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

function failure(logFile: string | undefined, error: unknown): Record<string, unknown> {
  const rule = error instanceof StateError && error.rule !== undefined ? { rule: error.rule } : {};
  return { logFile, ...rule, error: errorMessage(error) };
}

function buildLogger(deps: Deps, req: CniRequest, conf: NetConf | null): Logger {
  const base = {
    ...requestFields(req, conf?.deviceId),
    ...(conf?.pkey === undefined ? {} : { pkey: conf.pkey }),
  };
  if (conf === null) return createLogger(deps.log, "info", base);
  let write = deps.log;
  let openFailure: Record<string, unknown> | null = null;
  if (conf.logFile !== undefined) {
    try {
      write = deps.openLog(conf.logFile);
    } catch (error) {
      openFailure = failure(conf.logFile, error);
    }
  }
  const line = (text: string) => {
    if (write !== deps.log) {
      try {
        write(text);
        return;
      } catch (error) {
        // Switch first: the warning itself goes to deps.log.
        write = deps.log;
        notice.warning(
          "cannot write log file; logging to stderr instead",
          failure(conf.logFile, error),
        );
      }
    }
    deps.log(text);
  };
  const notice = createLogger(line, "debug", base);
  if (openFailure !== null) {
    notice.warning("cannot open log file; logging to stderr instead", openFailure);
  }
  for (const warning of conf.warnings ?? []) {
    notice.warning(warning.message, { rule: warning.ruleName, details: warning.details });
  }
  return createLogger(line, conf.logLevel, base);
}

/**
 * Records how a request's rollback ended, for its failure record: `failed` are the labels of the
 * undo steps that failed (none: the device is as it was).
 */
export function noteRollback(req: CniRequest, failed: readonly string[]): void {
  rollbacks.set(
    req,
    failed.length === 0 ? "complete" : `incomplete: ${failed.join("; ")}; DEL will retry`,
  );
}

/**
 * Writes the one error record of a failed request, whatever `logLevel` says: to the request's log
 * (its `logFile`, or `deps.log` after the warning) once its handler built it, else to `deps.log`.
 */
export function logFailure(deps: Deps, req: CniRequest, err: CniError): void {
  const log = loggers.get(req) ??
    createLogger(deps.log, "error", requestFields(req, req.config.deviceID));
  log.error(`${req.args.command} failed`, failureFields(err, rollbacks.get(req) ?? "none"));
}
