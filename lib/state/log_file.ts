/**
 * The `logFile` a network config names, confined beneath the node's log directory
 * ({@linkcode openAppendBeneath}). It is opened and written through libc rather than
 * `Deno.openSync`: the binary's `--allow-write` covers only the state directories.
 *
 * @module
 */
import { LibcError } from "../../ffi/errno.ts";
import { close, fileIdentity, writeAll } from "../../ffi/state_libc.ts";
import { ConfinedPathError, type ConfinedPathRule, openAppendBeneath } from "./confined_path.ts";

/** The mode of a log file we create: it names containers and netns paths, so owner only. */
const LOG_FILE_MODE = 0o600;
const STDOUT_FD = 1;

const encoder = new TextEncoder();

/**
 * A log file could not be opened or written. `code` is always `io`; `errno` is the errno name
 * (`"ENOENT"`, `"EISDIR"`, `"ENOSPC"`), or `null` when the file opened but is the process's
 * stdout, which must carry the CNI result and nothing else.
 *
 * @example
 * ```ts
 * import { openLogFile } from "./log_file.ts";
 * try {
 *   openLogFile("/no/such/dir/ib-sriov.log");
 * } catch (err) {
 *   // err.message: Cannot open log file "/no/such/dir/ib-sriov.log": No such file or directory
 * }
 * ```
 */
export class LogFileError extends ConfinedPathError {
  override name = "LogFileError";
  /** The errno name of the failed call; `null` for a rule broken without one, or stdout. */
  readonly errno: string | null;

  /**
   * @param path the log file
   * @param verb what failed: `open`, `write` or `close`
   * @param reason why, naming the rule
   * @param errno the errno name, or `null`
   * @param options `cause`: the underlying error; `rule`: the rule broken (default `io`)
   */
  constructor(
    path: string,
    verb: string,
    reason: string,
    errno: string | null,
    options: { cause?: unknown; rule?: ConfinedPathRule } = {},
  ) {
    super(options.rule ?? "io", path, `${verb} log file`, reason, options);
    this.errno = errno;
  }
}

/** An open log file; see {@linkcode openLogFile}. */
export interface LogFile {
  /** The path it was opened by. */
  readonly path: string;
  /**
   * Appends one record.
   *
   * @param line a whole line, newline included
   * @throws {LogFileError} when `write()` fails (`errno` "ENOSPC", "EIO", ...)
   */
  write(line: string): void;
  /**
   * Closes the file; later writes fail with `EBADF`.
   *
   * @throws {LogFileError} when `close()` fails
   */
  close(): void;
}

function fromLibc(path: string, verb: string, err: unknown): unknown {
  if (err instanceof LogFileError) return err;
  if (err instanceof ConfinedPathError) {
    const libc = err.cause instanceof LibcError ? err.cause : null;
    return new LogFileError(path, verb, err.reason, libc?.errnoName ?? null, {
      cause: libc ?? err,
      rule: err.rule,
    });
  }
  if (!(err instanceof LibcError)) return err;
  return new LogFileError(path, verb, err.message, err.errnoName, { cause: err });
}

/** Whether `fd` is the same file as stdout; a closed stdout is no file. */
function isStdout(fd: number): boolean {
  let stdout;
  try {
    stdout = fileIdentity(STDOUT_FD);
  } catch (err) {
    if (err instanceof LibcError && err.errnoName === "EBADF") return false;
    throw err;
  }
  const file = fileIdentity(fd);
  return file.dev === stdout.dev && file.ino === stdout.ino;
}

/**
 * The path of a `logFile` beneath `logDir`: a relative name is taken beneath it, an absolute
 * path must lie beneath it (so a config written for the default directory,
 * `/var/log/ib-sriov/x.log`, keeps working).
 *
 * @param logDir the log directory, absolute, without a trailing `/`
 * @param logFile the config's `logFile`
 * @returns the name beneath `logDir`
 * @throws {LogFileError} rule `name` for an absolute path elsewhere
 */
export function logFileName(logDir: string, logFile: string): string {
  if (!logFile.startsWith("/")) return logFile;
  if (logFile.startsWith(`${logDir}/`)) return logFile.slice(logDir.length + 1);
  throw new LogFileError(logFile, "open", `it must be beneath "${logDir}/"`, null, {
    rule: "name",
  });
}

/**
 * Opens the config's `logFile` beneath `logDir` for appending log records, creating it with
 * mode 0600 when it is missing, and `logDir` itself (mode 0700) when its parent exists.
 * Directories beneath `logDir` are not created. No component of the path may be a symbolic
 * link, and the file must be a regular file with one name ({@linkcode openAppendBeneath}).
 *
 * The file is opened with `O_APPEND` and each {@linkcode LogFile.write} is one `write()` of a
 * whole line, so the records of plugin processes that run in parallel (one per pod) never mix
 * within a line. A file that is the process's stdout is refused: stdout carries the CNI result
 * and nothing else.
 *
 * @param logDir the log directory, absolute, without a trailing `/`
 * @param logFile the config's `logFile`: a name beneath `logDir`, or an absolute path there
 * @returns the open file
 * @throws {LogFileError} `Cannot open log file "<path>": <reason>`, with the rule broken
 */
export function openLogFile(logDir: string, logFile: string): LogFile {
  const name = logFileName(logDir, logFile);
  const path = `${logDir}/${name}`;
  let fd: number;
  try {
    fd = openAppendBeneath(logDir, name, LOG_FILE_MODE, { create: true });
  } catch (err) {
    throw fromLibc(path, "open", err);
  }
  try {
    if (isStdout(fd)) {
      throw new LogFileError(
        path,
        "open",
        "it is the plugin's stdout, which carries the result",
        null,
      );
    }
  } catch (err) {
    try {
      close(fd);
    } catch {
      // Nothing was written to it: a failed close() loses nothing, and the first error counts.
    }
    throw fromLibc(path, "open", err);
  }
  return {
    path,
    write(line) {
      try {
        writeAll(fd, encoder.encode(line));
      } catch (err) {
        throw fromLibc(path, "write", err);
      }
    },
    close() {
      try {
        close(fd);
      } catch (err) {
        throw fromLibc(path, "close", err);
      }
    },
  };
}
