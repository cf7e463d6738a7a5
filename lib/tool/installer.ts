import { errorMessage } from "../error_message.ts";
import { dirname } from "../path.ts";
import { StateError } from "../state/state_error.ts";

/**
 * The file operations of `ib-sriov install`: what it writes into a CNI bin directory, each step
 * atomic. An interface, so the tool takes it from `cli.ts` like every other effect. Each method
 * throws a `StateError` code `io` naming the path when it fails.
 */
export interface Installer {
  /** Whether `path` is an existing directory (symlinks followed). */
  isDirectory(path: string): boolean;
  /** The contents of a file to install from (the bundle, whose first line the install rewrites). */
  readFile(path: string): Uint8Array;
  /**
   * Creates `dir` (mode 0755) when it does not exist, and fsyncs its parent so the new entry
   * survives a power cut. The parent must exist.
   */
  makeDir(dir: string): void;
  /**
   * Replaces `path` with `contents`, or with a copy of the file `copyFrom` (copied by the kernel,
   * so that a 100 MB runtime never sits in memory), atomically: temp file, mode, fsync, rename,
   * directory fsync. A reader sees the old file or the new one, and no temp file is left,
   * whatever fails.
   */
  writeFile(path: string, contents: Uint8Array | { copyFrom: string }, mode: number): void;
}

function ioError(path: string, message: string, err: unknown): StateError {
  return new StateError("io", path, `${message}: ${errorMessage(err)}`, { cause: err });
}

/**
 * The {@linkcode Installer} of the real filesystem, through Deno's file APIs: the CNI bin
 * directory is no state directory, and `install` runs with grants of its own for it
 * (`installFlags` in tools/permissions.ts).
 */
export class FsInstaller implements Installer {
  isDirectory(path: string): boolean {
    try {
      return Deno.statSync(path).isDirectory;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw ioError(path, `Cannot stat "${path}"`, err);
    }
  }

  readFile(path: string): Uint8Array {
    try {
      return Deno.readFileSync(path);
    } catch (err) {
      throw ioError(path, `Cannot read "${path}"`, err);
    }
  }

  makeDir(dir: string): void {
    try {
      Deno.mkdirSync(dir);
      // Explicitly: mkdir's mode goes through the umask, and the runtime must be reachable by
      // whoever runs the plugin.
      Deno.chmodSync(dir, 0o755);
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists && this.isDirectory(dir)) return;
      throw ioError(dir, `Cannot create "${dir}"`, err);
    }
    syncDir(dirname(dir));
  }

  writeFile(path: string, contents: Uint8Array | { copyFrom: string }, mode: number): void {
    const tmp = `${path}.tmp-${Deno.pid}`;
    try {
      // A temp file left by a crashed install that had our PID would keep its old mode. In a
      // container every installer is PID 1, so this is what clears a crashed install's file.
      removeQuietly(tmp);
      if (contents instanceof Uint8Array) {
        Deno.writeFileSync(tmp, contents, { createNew: true, mode: 0o600 });
      } else Deno.copyFileSync(contents.copyFrom, tmp);
      Deno.chmodSync(tmp, mode);
      using file = Deno.openSync(tmp, { read: true });
      file.syncSync();
    } catch (err) {
      removeQuietly(tmp);
      throw ioError(path, `Cannot write "${tmp}"`, err);
    }
    try {
      Deno.renameSync(tmp, path);
    } catch (err) {
      removeQuietly(tmp);
      throw ioError(path, `Cannot rename "${tmp}" to "${path}"`, err);
    }
    syncDir(dirname(path));
  }
}

/** fsyncs a directory, so that entries created or renamed in it survive a power cut. */
function syncDir(dir: string): void {
  try {
    using dirFile = Deno.openSync(dir, { read: true });
    dirFile.syncSync();
  } catch (err) {
    throw ioError(dir, `Cannot fsync directory "${dir}"`, err);
  }
}

/** Cleanup after a failed write: the original error is the one worth reporting. */
function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // The temp file may never have been created; nothing else can be done about it here.
  }
}
