/**
 * The `logFile` a network config names. It is opened and written through libc rather than
 * `Deno.openSync`: the binary's `--allow-write` covers only the state directories, and `logFile`
 * may be any absolute path.
 *
 * @module
 */
import { LibcError } from "../../ffi/errno.ts";
import { close, fileIdentity, openAppend, writeAll } from "../../ffi/state_libc.ts";
import { StateError } from "./state_error.ts";

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
export class LogFileError extends StateError {
  override name = "LogFileError";
  /** The errno name of the failed call; `null` for a file that is stdout. */
  readonly errno: string | null;

  /**
   * @param path the log file
   * @param message a one-line message that names `path` and the reason
   * @param errno the errno name, or `null`
   * @param options `cause`: the underlying {@linkcode LibcError}
   */
  constructor(
    path: string,
    message: string,
    errno: string | null,
    options: { cause?: unknown } = {},
  ) {
    super("io", path, message, options);
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
  if (!(err instanceof LibcError)) return err;
  return new LogFileError(path, `Cannot ${verb} log file "${path}": ${err.reason}`, err.code, {
    cause: err,
  });
}

/** Whether `fd` is the same file as stdout; a closed stdout is no file. */
function isStdout(fd: number): boolean {
  let stdout;
  try {
    stdout = fileIdentity(STDOUT_FD);
  } catch (err) {
    if (err instanceof LibcError && err.code === "EBADF") return false;
    throw err;
  }
  const file = fileIdentity(fd);
  return file.dev === stdout.dev && file.ino === stdout.ino;
}

/**
 * Opens `path` for appending log records, creating it with mode 0600 when it is missing. The
 * parent directory must exist: a log directory is the operator's to create, with the mode and
 * owner they choose.
 *
 * The file is opened with `O_APPEND` and each {@linkcode LogFile.write} is one `write()` of a
 * whole line, so the records of plugin processes that run in parallel (one per pod) never mix
 * within a line. A file that is the process's stdout (`/dev/stdout`, `/proc/self/fd/1`) is
 * refused: stdout carries the CNI result and nothing else.
 *
 * @param path an absolute path
 * @returns the open file
 * @throws {LogFileError} `Cannot open log file "<path>": <reason>` when `open()` fails (missing
 *   directory, a directory, no permission, a FIFO without a reader) or the file is stdout
 */
export function openLogFile(path: string): LogFile {
  let fd: number;
  try {
    fd = openAppend(path, LOG_FILE_MODE);
  } catch (err) {
    throw fromLibc(path, "open", err);
  }
  try {
    if (isStdout(fd)) {
      throw new LogFileError(
        path,
        `Cannot open log file "${path}": it is the plugin's stdout, which carries the result`,
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
