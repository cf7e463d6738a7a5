/** Log levels, most severe first. */
export const LOG_LEVELS = ["error", "warning", "info", "debug"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** A structured logger: one JSON object per line, never on stdout. */
export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warning(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Creates a logger that writes records at or above `level` through `write`, each carrying
 * `base` (container ID, netns, ifname, deviceID) so a node's log can be grepped per pod.
 *
 * @param write receives one line per record (stderr or a log file; never stdout)
 * @param level the least severe level written
 * @param base fields added to every record
 * @returns the logger
 */
export function createLogger(
  write: (line: string) => void,
  level: LogLevel,
  base: Record<string, unknown> = {},
): Logger {
  const limit = LOG_LEVELS.indexOf(level);
  const emit = (at: LogLevel) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (LOG_LEVELS.indexOf(at) > limit) return;
    write(
      JSON.stringify({ time: new Date().toISOString(), level: at, msg, ...base, ...fields }) + "\n",
    );
  };
  return {
    error: emit("error"),
    warning: emit("warning"),
    info: emit("info"),
    debug: emit("debug"),
  };
}
