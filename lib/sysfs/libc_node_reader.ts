import { basename, join } from "../path.ts";
import { readDir, readlink, readText } from "../../ffi/sysfs_libc.ts";
import { checkName, readCount, readOrNull } from "./libc_sysfs.ts";
import type { NodeReader } from "./node_reader.ts";

/** Relative to the root, as `LibcSysfs` joins it. */
const PCI_DEVICES = "sys/bus/pci/devices";
const OSRELEASE = "proc/sys/kernel/osrelease";

export interface LibcNodeReaderOptions {
  /** The directory that holds `sys/` and `proc/`: `/` on the node, a recorded tree elsewhere. */
  root?: string;
}

/**
 * The real {@linkcode NodeReader}: reads through libc, as `LibcSysfs` does. Absence is
 * `null` or `[]`; any other failure is a `SysfsError` (`invalid-name`, `corrupt`, `io`).
 */
export class LibcNodeReader implements NodeReader {
  readonly #root: string;

  constructor({ root = "/" }: LibcNodeReaderOptions = {}) {
    this.#root = root;
  }

  kernelRelease(): string | null {
    return readOrNull(join(this.#root, OSRELEASE), readText)?.trim() ?? null;
  }

  pciDevices(): string[] {
    return (readOrNull(join(this.#root, PCI_DEVICES), readDir) ?? []).sort();
  }

  sriovNumVfs(pci: string): number | null {
    return readCount(join(this.#device(pci), "sriov_numvfs"));
  }

  virtfn(pfPci: string, index: number): string | null {
    const target = readOrNull(join(this.#device(pfPci), `virtfn${index}`), readlink);
    return target === null ? null : basename(target);
  }

  #device(pci: string): string {
    checkName(pci, "PCI address");
    return join(this.#root, PCI_DEVICES, pci);
  }
}
