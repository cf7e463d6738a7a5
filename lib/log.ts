/** Log levels, most severe first. */
export const LOG_LEVELS = ["error", "warning", "info", "debug"] as const;
export type LogLevel = typeof LOG_LEVELS[number];

/**
 * U+2028 and U+2029: JSON leaves them raw, but some log readers (JavaScript's line splitting
 * among them) take them for line ends, so a value holding one could start a record of its own.
 */
const LINE_SEPARATORS = /[\u2028\u2029]/g;

/**
 * One record as one line: every value JSON-escaped (quotes, newlines, control characters, lone
 * surrogates) and the two line separators JSON leaves raw escaped too, so that no value, however
 * hostile, can end the line or forge a record.
 */
function recordLine(record: Record<string, unknown>): string {
  return JSON.stringify(record).replace(
    LINE_SEPARATORS,
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  ) + "\n";
}

/** A structured logger: one JSON object per line, never on stdout. */
export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warning(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Creates a logger that writes records at or above `level` through `write` (stderr or a log file;
 * never stdout), each carrying `base` (container ID, netns, ifname, deviceID) so a node's log can
 * be grepped per pod.
 */
export function createLogger(
  write: (line: string) => void,
  level: LogLevel,
  base: Record<string, unknown> = {},
): Logger {
  const limit = LOG_LEVELS.indexOf(level);
  const emit = (at: LogLevel) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (LOG_LEVELS.indexOf(at) > limit) return;
    write(recordLine({ time: new Date().toISOString(), level: at, msg, ...base, ...fields }));
  };
  return {
    error: emit("error"),
    warning: emit("warning"),
    info: emit("info"),
    debug: emit("debug"),
  };
}
