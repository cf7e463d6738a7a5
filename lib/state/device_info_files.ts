/**
 * The NPWG device-info files on the node, written through the confined primitives of
 * `confined_path.ts`: the path comes from the runtime's `runtimeConfig`, and a NAD author can
 * write a static one, so it is held to one directory, with no symbolic link and no file that is
 * not a regular one.
 *
 * @module
 */
import { close } from "../../ffi/state_libc.ts";
import { DEVICE_INFO_DIR } from "../config/limits.ts";
import {
  ConfinedPathError,
  openRoot,
  readFileBeneath,
  removeFileBeneath,
  writeFileBeneath,
} from "./confined_path.ts";
import type { DeviceInfoStore } from "./device_info_store.ts";

/**
 * {@link DEVICE_INFO_DIR} as the directory the files are opened beneath. The path above it is
 * the system's (`/var/run` is a link to `/run`); from it down, no link is followed.
 */
export const DEVICE_INFO_ROOT = DEVICE_INFO_DIR.slice(0, -1);

/** Mode of a device-info file: Multus writes them 0444, and the pod's readers only read. */
const DEVICE_INFO_MODE = 0o444;
/** Largest device-info file read: a document of a few fields; a bigger one is not ours to merge. */
const MAX_DEVICE_INFO_BYTES = 64 * 1024;

/** Options of {@link DeviceInfoFiles}. */
export interface DeviceInfoFilesOptions {
  /**
   * The directory that holds the files named `/var/run/k8s.cni.cncf.io/devinfo/cni/<name>`:
   * {@link DEVICE_INFO_ROOT} by default, a temp dir in tests.
   */
  root?: string;
}

/**
 * The device-info files of {@link DEVICE_INFO_DIR}. A path must be that directory and one file
 * name (what the validator's rule 25 accepts); it is reached from the root directory's fd with
 * `openat2()` and `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, so a link or a `..` is refused by the
 * kernel at any component, and a name that is not a regular file is refused. The root must be
 * owned by root and not writable by group or others (Multus creates it mode 0000); a missing
 * root is created (0700) on the first write, as the device-info spec has a CNI plugin do.
 *
 * @example
 * ```ts ignore
 * import { DeviceInfoFiles } from "./device_info_files.ts";
 * const files = new DeviceInfoFiles();
 * files.read("/var/run/k8s.cni.cncf.io/devinfo/cni/ib-net-c1_net1"); // null when absent
 * ```
 */
export class DeviceInfoFiles implements DeviceInfoStore {
  readonly #root: string;

  /** @param options the directory on disk */
  constructor(options: DeviceInfoFilesOptions = {}) {
    this.#root = options.root ?? DEVICE_INFO_ROOT;
  }

  /**
   * Reads a device-info file.
   *
   * @param path `runtimeConfig.CNIDeviceInfoFile`
   * @returns its text, or `null` when it (or the directory) does not exist
   * @throws {ConfinedPathError} the rule the path breaks; `io` when it cannot be read
   */
  read(path: string): string | null {
    const bytes = readFileBeneath(this.#root, this.#name(path, "read"), MAX_DEVICE_INFO_BYTES);
    return bytes === null ? null : new TextDecoder().decode(bytes);
  }

  /**
   * Replaces a device-info file with `text` (temp file, fsync, rename, directory fsync), mode
   * 0444, creating the directory when it is missing.
   *
   * @param path `runtimeConfig.CNIDeviceInfoFile`
   * @param text the document
   * @throws {ConfinedPathError} the rule the path breaks; `io` when it cannot be written
   */
  write(path: string, text: string): void {
    const name = this.#name(path, "write");
    close(openRoot(this.#root, { create: true }));
    writeFileBeneath(this.#root, name, text, DEVICE_INFO_MODE);
  }

  /**
   * Removes a device-info file, without following a link; a missing one is no error.
   *
   * @param path `runtimeConfig.CNIDeviceInfoFile`
   * @throws {ConfinedPathError} the rule the path breaks; `io` when it cannot be removed
   */
  remove(path: string): void {
    removeFileBeneath(this.#root, this.#name(path, "remove"));
  }

  /**
   * The name of `path` in the directory. The validator has held the name to one component;
   * this refuses a path outside the directory, and the kernel any `..` or link beneath it.
   */
  #name(path: string, verb: string): string {
    if (!path.startsWith(DEVICE_INFO_DIR)) {
      throw new ConfinedPathError("name", path, verb, `it is not in ${DEVICE_INFO_DIR}`);
    }
    return path.slice(DEVICE_INFO_DIR.length);
  }
}
