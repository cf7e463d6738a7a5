import { errorMessage } from "../error_message.ts";
import { dirname } from "../path.ts";
import { type FileContents, syncDir, writeFileAtomic } from "./files.ts";
import { StateError } from "./state_error.ts";

/**
 * The file operations of `ib-sriov install`: what it writes into a CNI bin directory, each step
 * atomic. An interface, so the tool takes it from `cli.ts` like every other effect.
 */
export interface Installer {
  /**
   * @param path a path
   * @returns whether it is an existing directory (symlinks followed)
   */
  isDirectory(path: string): boolean;
  /**
   * @param path a file to install from (the bundle, whose first line the install rewrites)
   * @returns its contents
   * @throws {StateError} code `io` when it cannot be read
   */
  readFile(path: string): Uint8Array;
  /**
   * Creates `dir` (mode 0755) when it does not exist, and fsyncs its parent so the new entry
   * survives a power cut. The parent must exist.
   *
   * @throws {StateError} code `io` when it cannot be created
   */
  makeDir(dir: string): void;
  /**
   * Replaces `path` atomically (temp file, fsync, mode, rename, directory fsync): a reader sees
   * the old file or the new one, and no temp file is left, whatever fails.
   *
   * @throws {StateError} code `io` when any step fails
   */
  writeFile(path: string, contents: FileContents, mode: number): void;
}

/** The {@linkcode Installer} of the real filesystem. */
export class FsInstaller implements Installer {
  /** @inheritdoc */
  isDirectory(path: string): boolean {
    try {
      return Deno.statSync(path).isDirectory;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw new StateError("io", path, `Cannot stat "${path}": ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  /** @inheritdoc */
  readFile(path: string): Uint8Array {
    try {
      return Deno.readFileSync(path);
    } catch (err) {
      throw new StateError("io", path, `Cannot read "${path}": ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  /** @inheritdoc */
  makeDir(dir: string): void {
    try {
      Deno.mkdirSync(dir);
      // Explicitly: mkdir's mode goes through the umask, and the runtime must be reachable by
      // whoever runs the plugin.
      Deno.chmodSync(dir, 0o755);
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists && this.isDirectory(dir)) return;
      throw new StateError("io", dir, `Cannot create "${dir}": ${errorMessage(err)}`, {
        cause: err,
      });
    }
    syncDir(dirname(dir));
  }

  /** @inheritdoc */
  writeFile(path: string, contents: FileContents, mode: number): void {
    writeFileAtomic(path, contents, { mode });
  }
}
