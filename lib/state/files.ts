import { errorMessage } from "../error_message.ts";
import { basename, dirname, join } from "../path.ts";
import { checkOwnDirectory, ConfinedPathError } from "./confined_path.ts";
import { StateError } from "./state_error.ts";

/**
 * Creates `dir` (and its parents) with mode 0700 when it does not exist, and checks it: a
 * directory, not a symbolic link, owned by the process's user and not writable by group or
 * others ({@linkcode checkOwnDirectory}). Every state file is written beneath it by root, so a
 * state directory swapped for a link (to `/etc`, say) must stop the plugin before it writes. An
 * existing directory keeps its mode: the Go plugin created the same directories 0700.
 *
 * @param dir the directory
 * @throws {StateError} code `io` when it cannot be created; {@linkcode ConfinedPathError} when it
 *   breaks a rule
 */
export function ensureDir(dir: string): void {
  try {
    checkOwnDirectory(dir);
    return;
  } catch (err) {
    if (!(err instanceof ConfinedPathError && err.rule === "missing")) throw err;
  }
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StateError(
      "io",
      dir,
      `Cannot create state directory "${dir}": ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  checkOwnDirectory(dir);
}

/**
 * How much of an atomic write must survive a power cut. A killed process never loses any of
 * it: the page cache outlives the process, and the rename is atomic either way.
 *
 * - `full`: the new file under its name (fsync of the file, then of its directory).
 * - `contents`: the contents, whenever the name points at them (fsync of the file only): a power
 *   cut may undo the rename and leave the previous file, never an empty one. For a rewrite whose
 *   previous version serves a restart just as well.
 * - `none`: nothing (no fsync): for files on a tmpfs, which a power cut clears anyway.
 */
export type Durability = "full" | "contents" | "none";

/**
 * What {@link writeFileAtomic} writes: text, bytes, or the contents of another file, copied in
 * chunks so that a 100 MB runtime never sits in memory whole.
 */
export type FileContents = string | Uint8Array | { copyFrom: string };

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** The file's mode, set explicitly so the umask cannot narrow it. Default 0600. */
  mode?: number;
  /** What must survive a power cut. Default `full`. */
  durability?: Durability;
}

/** Bytes copied per read when the contents come from another file. */
const COPY_CHUNK = 1024 * 1024;

function writeAll(file: Deno.FsFile, data: Uint8Array): void {
  for (let off = 0; off < data.length;) off += file.writeSync(data.subarray(off));
}

function fill(file: Deno.FsFile, contents: FileContents): void {
  if (typeof contents === "string") return writeAll(file, new TextEncoder().encode(contents));
  if (contents instanceof Uint8Array) return writeAll(file, contents);
  using from = Deno.openSync(contents.copyFrom, { read: true });
  const chunk = new Uint8Array(COPY_CHUNK);
  for (let n = from.readSync(chunk); n !== null; n = from.readSync(chunk)) {
    writeAll(file, chunk.subarray(0, n));
  }
}

/**
 * Replaces `path` with `contents` so that a reader (or a crash) sees either the old file or the
 * new one, never a mix: a reader must never find half a record on DEL, nor a runtime half an
 * installed plugin.
 *
 * 1. Write `<path>.tmp-<pid>` (the PID keeps two processes from sharing a temp file), then set
 *    its mode.
 * 2. fsync it (unless `durability` is `none`), so the data is on disk before the name points at
 *    it.
 * 3. Rename it over `path` (atomic within one filesystem).
 * 4. fsync the directory (when `durability` is `full`), so the rename itself survives a power
 *    cut. Deno can open a directory read-only and `syncSync()` it (fsync(2) on a directory fd).
 *
 * @param path the file to replace; its directory must exist
 * @param contents the new contents
 * @param options the mode and the durability
 * @throws {StateError} code `io` when any step fails; the temp file is removed
 */
export function writeFileAtomic(
  path: string,
  contents: FileContents,
  options: WriteFileAtomicOptions = {},
): void {
  const tmp = `${path}.tmp-${Deno.pid}`;
  const mode = options.mode ?? 0o600;
  const durability = options.durability ?? "full";
  try {
    // A temp file left by a crashed process that had our PID would keep its old mode. In a
    // container every installer is PID 1, so this is also what clears a crashed install's file.
    removeIfExists(tmp);
    using file = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o600 });
    fill(file, contents);
    if (mode !== 0o600) Deno.chmodSync(tmp, mode);
    if (durability !== "none") file.syncSync();
  } catch (err) {
    removeQuietly(tmp);
    throw new StateError("io", path, `Cannot write "${tmp}": ${errorMessage(err)}`, { cause: err });
  }
  try {
    Deno.renameSync(tmp, path);
  } catch (err) {
    removeQuietly(tmp);
    throw new StateError("io", path, `Cannot rename "${tmp}" to "${path}": ${errorMessage(err)}`, {
      cause: err,
    });
  }
  if (durability !== "full") return;
  syncDir(dirname(path));
}

/**
 * fsyncs a directory, so that entries created or renamed in it survive a power cut.
 *
 * @param dir the directory
 * @throws {StateError} code `io` when it cannot be opened or synced
 */
export function syncDir(dir: string): void {
  try {
    using dirFile = Deno.openSync(dir, { read: true });
    dirFile.syncSync();
  } catch (err) {
    throw new StateError("io", dir, `Cannot fsync directory "${dir}": ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

/**
 * Removes a file; a file that is already gone is not an error.
 *
 * @param path the file
 * @throws {StateError} code `io` when the file exists and cannot be removed
 */
export function removeIfExists(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw new StateError("io", path, `Cannot remove "${path}": ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

/**
 * Removes the temp files {@link writeFileAtomic} left next to `path` (`<path>.tmp-<pid>`): a
 * process killed between creating its temp file and renaming it leaves one, which no later write
 * of `path` replaces (the PID differs) and nothing else would remove. Call it only with the lock
 * that serialises the writers of `path` held, so that no live writer's temp file is among them.
 *
 * @param path the file whose temp files go; the file itself stays
 * @throws {StateError} code `io` when the directory cannot be listed or a file cannot be removed
 */
export function removeTempFiles(path: string): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.tmp-`;
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw new StateError("io", dir, `Cannot list "${dir}": ${errorMessage(err)}`, { cause: err });
  }
  for (const entry of entries) {
    if (entry.name.startsWith(prefix) && /^\d+$/.test(entry.name.slice(prefix.length))) {
      removeIfExists(join(dir, entry.name));
    }
  }
}

/**
 * Reads a text file; a missing file gives `null`.
 *
 * @param path the file
 * @returns its contents, or `null` when it does not exist
 * @throws {StateError} code `io` when it exists and cannot be read
 */
export function readIfExists(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw new StateError("io", path, `Cannot read "${path}": ${errorMessage(err)}`, { cause: err });
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
