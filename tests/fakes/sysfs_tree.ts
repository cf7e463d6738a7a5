/**
 * Builds a fake sysfs tree in a temporary directory from a declarative spec, for `LibcSysfs`
 * with `root` pointed at it, or for the e2e simulation that bind-mounts
 * `<root>/sys/bus/pci/devices` over `/sys/bus/pci/devices`.
 *
 * Devices are real directories (the kernel's are links into `/sys/devices/...`) so that the
 * device directory can be bind-mounted on its own; links between devices are relative
 * (`physfn` -> `../0000:3b:00.0`), as the kernel writes them, so they resolve after the mount.
 *
 * @module
 */

import { dirname, join } from "node:path";

/** What one directory holds; every path is relative to that directory. */
export interface SysfsNodeSpec {
  /** Directories to create, e.g. `"net/ibp59s0f0"`. */
  dirs?: readonly string[];
  /** Files to write, path to contents, e.g. `{ "sriov_numvfs": "4\n" }`. */
  files?: Readonly<Record<string, string>>;
  /** Symbolic links, path to target as stored, e.g. `{ "physfn": "../0000:3b:00.0" }`. */
  links?: Readonly<Record<string, string>>;
}

/** A whole fake sysfs. */
export interface SysfsTreeSpec {
  /** The PCI devices, by address, created as `sys/bus/pci/devices/<pci>/`. */
  devices: Readonly<Record<string, SysfsNodeSpec>>;
  /** Anything else, relative to the root, e.g. `{ dirs: ["sys/bus/pci/drivers/mlx5_core"] }`. */
  other?: SysfsNodeSpec;
}

/** A built tree. */
export interface SysfsTree {
  /** The directory that holds `sys/`: pass it as `new LibcSysfs({ root })`. */
  root: string;
  /** Removes the tree. */
  cleanup(): Promise<void>;
}

/** The devices directory inside a root, as `LibcSysfs` reads it. */
export const PCI_DEVICES_DIR = "sys/bus/pci/devices";

/**
 * Creates the tree that `spec` describes in a new temporary directory.
 *
 * @param spec The devices and other entries.
 * @returns The root and a cleanup function.
 * @throws {Deno.errors.AlreadyExists} When the spec names one path twice.
 */
export async function buildSysfsTree(spec: SysfsTreeSpec): Promise<SysfsTree> {
  const root = await Deno.makeTempDir({ prefix: "sysfs_tree_" });
  const cleanup = () => Deno.remove(root, { recursive: true });
  try {
    await Deno.mkdir(join(root, PCI_DEVICES_DIR), { recursive: true });
    for (const [pci, node] of Object.entries(spec.devices)) {
      await buildNode(join(root, PCI_DEVICES_DIR, pci), node);
    }
    if (spec.other !== undefined) await buildNode(root, spec.other);
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { root, cleanup };
}

/** Creates `dir` and what `node` lists in it. */
async function buildNode(dir: string, node: SysfsNodeSpec): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const sub of node.dirs ?? []) {
    await Deno.mkdir(join(dir, sub), { recursive: true });
  }
  for (const [path, contents] of Object.entries(node.files ?? {})) {
    await Deno.mkdir(dirname(join(dir, path)), { recursive: true });
    await Deno.writeTextFile(join(dir, path), contents, { createNew: true });
  }
  for (const [path, target] of Object.entries(node.links ?? {})) {
    await Deno.mkdir(dirname(join(dir, path)), { recursive: true });
    await Deno.symlink(target, join(dir, path));
  }
}
