import { basename, join } from "../path.ts";
import { readDir, readlink, readText } from "../../ffi/sysfs_libc.ts";
import { readOrNull } from "./libc_sysfs.ts";
import { SysfsError } from "./sysfs_error.ts";
import type { NodeReader } from "./node_reader.ts";

/** Relative to the root, as `LibcSysfs` joins it. */
const PCI_DEVICES = "sys/bus/pci/devices";
const OSRELEASE = "proc/sys/kernel/osrelease";

/** Options of {@linkcode LibcNodeReader}. */
export interface LibcNodeReaderOptions {
  /** The directory that holds `sys/` and `proc/`: `/` on the node, a recorded tree elsewhere. */
  root?: string;
}

/**
 * The real {@linkcode NodeReader}: reads through libc (`ffi/sysfs_libc.ts`), because Deno's file APIs
 * refuse `/sys` and `/proc` without `--allow-all`. Absence is `null` or `[]`; any other failure
 * is a {@linkcode SysfsError} naming the path.
 */
export class LibcNodeReader implements NodeReader {
  readonly #root: string;

  /** @param options `root`: the directory that holds `sys/` and `proc/` (default `/`) */
  constructor({ root = "/" }: LibcNodeReaderOptions = {}) {
    this.#root = root;
  }

  /**
   * @returns the kernel release, trimmed, or `null` when the file is absent
   * @throws {SysfsError} `io` when it cannot be read
   */
  kernelRelease(): string | null {
    return readOrNull(join(this.#root, OSRELEASE), readText)?.trim() ?? null;
  }

  /**
   * @returns the PCI addresses, sorted
   * @throws {SysfsError} `io` when the directory cannot be listed
   */
  pciDevices(): string[] {
    return (readOrNull(join(this.#root, PCI_DEVICES), readDir) ?? []).sort();
  }

  /**
   * @param pci the PCI address
   * @returns `sriov_numvfs`, or `null` when absent
   * @throws {SysfsError} `invalid-name`, `corrupt` (not a number) or `io`
   */
  sriovNumVfs(pci: string): number | null {
    const path = join(this.#device(pci), "sriov_numvfs");
    const text = readOrNull(path, readText)?.trim();
    if (text === undefined) return null;
    if (!/^\d+$/.test(text)) {
      throw new SysfsError("corrupt", path, `Expected a number in "${path}", found "${text}"`, {
        reason: `expected a number in "sriov_numvfs", found "${text}"`,
      });
    }
    return Number(text);
  }

  /**
   * @param pfPci the PF's PCI address
   * @param index the VF index
   * @returns the VF's PCI address, or `null` when the link is absent
   * @throws {SysfsError} `invalid-name` or `io`
   */
  virtfn(pfPci: string, index: number): string | null {
    const target = readOrNull(join(this.#device(pfPci), `virtfn${index}`), readlink);
    return target === null ? null : basename(target);
  }

  #device(pci: string): string {
    if (pci === "" || pci === "." || /[/\0]|\.\./.test(pci)) {
      throw new SysfsError("invalid-name", pci, `Invalid PCI address ${JSON.stringify(pci)}`, {
        reason: "invalid PCI address",
      });
    }
    return join(this.#root, PCI_DEVICES, pci);
  }
}
