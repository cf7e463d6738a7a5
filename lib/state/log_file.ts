/**
 * The `logFile` a network config names, confined beneath the node's log directory
 * ({@linkcode ConfinedDir}), opened and written through libc: the binary has no Deno file grant.
 *
 * @module
 */
import { Errno, LibcError } from "../../ffi/errno.ts";
import { close, statusAt, writeAll } from "../../ffi/state_libc.ts";
import { closeQuietly, ConfinedDir } from "./confined_dir.ts";
import { pathError, StateError } from "./state_error.ts";

/** The mode of a log file we create: it names containers and netns paths, so owner only. */
const LOG_FILE_MODE = 0o600;
const STDOUT_FD = 1;

const encoder = new TextEncoder();

/**
 * An open log file; see {@linkcode openLogFile}. Its methods throw a `StateError` (code `io`)
 * `Cannot <write|close> log file "<path>": <reason>`, its `cause` the `LibcError`.
 */
export interface LogFile {
  readonly path: string;
  /** Appends one record: a whole line, newline included. */
  write(line: string): void;
  /** Closes the file; later writes fail with `EBADF`. */
  close(): void;
}

/** `err` as the error of the log file `path`: `Cannot <verb> log file "<path>": <reason>`. */
function logError(path: string, verb: string, err: unknown): unknown {
  if (err instanceof StateError && err.reason !== undefined) {
    return pathError(err.rule ?? "io", path, `${verb} log file`, err.reason, err.cause ?? err);
  }
  if (!(err instanceof LibcError)) return err;
  return pathError("io", path, `${verb} log file`, err.message, err);
}

/** Whether `fd` is the same file as stdout; a closed stdout is no file. */
function isStdout(fd: number): boolean {
  let stdout;
  try {
    stdout = statusAt(STDOUT_FD, "").id;
  } catch (err) {
    if (err instanceof LibcError && err.errno === Errno.EBADF) return false;
    throw err;
  }
  return statusAt(fd, "").id === stdout;
}

/**
 * The path of a `logFile` beneath `logDir`: a relative name is taken beneath it, an absolute
 * path must lie beneath it (so a config written for the default directory,
 * `/var/log/ib-sriov/x.log`, keeps working). `logDir` is absolute, without a trailing `/`.
 *
 * @throws {StateError} rule `name` for an absolute path elsewhere
 */
export function logFileName(logDir: string, logFile: string): string {
  if (!logFile.startsWith("/")) return logFile;
  if (logFile.startsWith(`${logDir}/`)) return logFile.slice(logDir.length + 1);
  throw pathError("name", logFile, "open log file", `it must be beneath "${logDir}/"`);
}

/**
 * Opens the config's `logFile` beneath `logDir` for appending log records, creating it with
 * mode 0600 when it is missing, and `logDir` itself (mode 0700) when its parent exists.
 * Directories beneath `logDir` are not created. No component of the path may be a symbolic
 * link, and the file must be a regular file with one name.
 *
 * The file is opened with `O_APPEND` and each {@linkcode LogFile.write} is one `write()` of a
 * whole line, so the records of plugin processes that run in parallel (one per pod) never mix
 * within a line. A file that is the process's stdout is refused: stdout carries the CNI result
 * and nothing else.
 *
 * @throws {StateError} `Cannot open log file "<path>": <reason>`, with the rule broken
 */
export function openLogFile(logDir: string, logFile: string): LogFile {
  const name = logFileName(logDir, logFile);
  const path = `${logDir}/${name}`;
  let fd = -1;
  try {
    using dir = ConfinedDir.open(logDir, "dir");
    fd = dir.openAppend(name, LOG_FILE_MODE);
    if (isStdout(fd)) {
      throw pathError("io", path, "open", "it is the plugin's stdout, which carries the result");
    }
  } catch (err) {
    // Nothing was written to it: a failed close() loses nothing, and the first error counts.
    if (fd >= 0) closeQuietly(fd);
    throw logError(path, "open", err);
  }
  return {
    path,
    write(line) {
      try {
        writeAll(fd, encoder.encode(line));
      } catch (err) {
        throw logError(path, "write", err);
      }
    },
    close() {
      try {
        close(fd);
      } catch (err) {
        throw logError(path, "close", err);
      }
    },
  };
}
