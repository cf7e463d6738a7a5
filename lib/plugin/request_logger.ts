import type { CniRequest } from "../cni/dispatch.ts";
import type { NetConf } from "../config/load_net_conf.ts";
import { errorMessage } from "../error_message.ts";
import { createLogger, type Logger } from "../log.ts";
import type { Deps } from "./deps.ts";

/**
 * Builds the request's logger: every record names the container, netns, ifname and device.
 * Records go to the config's `logFile` when it names one, else to `deps.log` (stderr).
 *
 * A log file is a convenience, never a reason to fail the request: when it cannot be opened, or
 * a write to it fails (a full disk), the records from then on go to `deps.log`, after one warning
 * record that names the file and the reason. That warning is written whatever `logLevel` says:
 * an operator who set `logFile` must learn why nothing reaches it.
 *
 * @param deps the dependencies
 * @param req the request
 * @param conf the decoded config; `null` for a DEL or GC config that broke a rule, whose
 *   `logFile` and `logLevel` cannot be trusted: records then go to `deps.log` at `info`
 * @returns the logger
 */
export function requestLogger(deps: Deps, req: CniRequest, conf: NetConf | null): Logger {
  const base = {
    command: req.args.command,
    containerId: req.args.containerId,
    netns: req.args.netns,
    ifname: req.args.ifname,
    deviceID: conf?.deviceId ?? "",
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
