import { basename, isFileName, join } from "../path.ts";
import { LibcError } from "../../ffi/errno.ts";
import { lstatExists, readDir, readlink, readText } from "../../ffi/sysfs_libc.ts";
import { PCI_ADDRESS } from "../pci_address.ts";
import type { Sysfs } from "./sysfs.ts";
import { SysfsError } from "./sysfs_error.ts";

/** The operator tool's reads of the configs it is named: reads, so the reader's binding's. */
export { readFile as readOperatorFile } from "../../ffi/sysfs_libc.ts";

export interface LibcSysfsOptions {
  /** The directory that holds `sys/`: `/` in production, a fixture tree in tests. */
  root?: string;
}

/**
 * Runs one libc read (`readText`, `readlink`, `readDir`, …) of a sysfs or procfs file; absence
 * (ENOENT) gives `null`.
 *
 * @throws {SysfsError} `io` for any other failure, its `path` the file
 */
export function readOrNull<T>(path: string, read: (path: string) => T): T | null {
  try {
    return read(path);
  } catch (error) {
    if (!(error instanceof LibcError)) throw error;
    if (error.errnoName === "ENOENT") return null;
    throw new SysfsError("io", path, error.message, { cause: error });
  }
}

/**
 * The real {@linkcode Sysfs}: reads `<root>/sys/bus/pci/devices/<pci>/...` through libc
 * (`ffi/sysfs_libc.ts`, which has no `write`), because Deno's file APIs refuse `/sys` without
 * `--allow-all`.
 *
 * Absence is an answer (`null`, `false` or `[]`), never an error; every other failure is a
 * {@linkcode SysfsError} (`invalid-name`, `corrupt`, `io`) whose `path` is the file.
 */
export class LibcSysfs implements Sysfs {
  readonly #devices: string;

  constructor({ root = "/" }: LibcSysfsOptions = {}) {
    this.#devices = join(root, "sys/bus/pci/devices");
  }

  /** A dangling link at `/sys/bus/pci/devices/<pci>` does not exist. */
  deviceExists(pci: string): boolean {
    // The trailing "/." makes the kernel follow the device's link and require a directory.
    const path = `${this.#device(pci)}/.`;
    return readOrNull(path, lstatExists) ?? false;
  }

  physfn(pci: string): string | null {
    return this.#readLinkName(join(this.#device(pci), "physfn"));
  }

  /**
   * Finds the N of the PF's `virtfnN` link that points at the VF. The SR-IOV capability places VF
   * N at routing ID `pfRid + sriov_offset + N * sriov_stride` (PCIe Base Spec, "First VF Offset"
   * and "VF Stride"), so one `readlink` confirms the computed N; the `virtfnN` links are scanned
   * only when `sriov_offset` or `sriov_stride` is missing or the confirmation fails.
   */
  vfIndex(pfPci: string, vfPci: string): number | null {
    const pf = this.#device(pfPci);
    this.#device(vfPci);
    const computed = this.#computedVfIndex(pf, pfPci, vfPci);
    if (computed !== null && this.#virtfn(pf, computed) === vfPci) return computed;
    const numVfs = readCount(join(pf, "sriov_numvfs")) ?? 0;
    for (let index = 0; index < numVfs; index++) {
      if (index !== computed && this.#virtfn(pf, index) === vfPci) return index;
    }
    return null;
  }

  netdevs(pci: string): string[] {
    return (readOrNull(join(this.#device(pci), "net"), readDir) ?? []).sort();
  }

  driver(pci: string): string | null {
    return this.#readLinkName(join(this.#device(pci), "driver"));
  }

  rdmaDevices(pci: string): string[] {
    return (readOrNull(join(this.#device(pci), "infiniband"), readDir) ?? []).sort();
  }

  rdmaNodeGuid(pci: string, rdmaDevice: string): string | null {
    checkName(rdmaDevice, "RDMA device name");
    const path = join(this.#device(pci), "infiniband", rdmaDevice, "node_guid");
    return readOrNull(path, readText)?.trim() ?? null;
  }

  /** The device's directory, after checking that `pci` stays inside it. */
  #device(pci: string): string {
    checkName(pci, "PCI address");
    return join(this.#devices, pci);
  }

  #readLinkName(path: string): string | null {
    const target = readOrNull(path, readlink);
    return target === null ? null : basename(target);
  }

  #virtfn(pf: string, index: number): string | null {
    return this.#readLinkName(join(pf, `virtfn${index}`));
  }

  /** The VF index that `sriov_offset` and `sriov_stride` predict, or `null`. */
  #computedVfIndex(pf: string, pfPci: string, vfPci: string): number | null {
    const pfId = routingId(pfPci);
    const vfId = routingId(vfPci);
    if (pfId === null || vfId === null || pfId.domain !== vfId.domain) return null;
    const offset = readCount(join(pf, "sriov_offset"));
    const stride = readCount(join(pf, "sriov_stride"));
    if (offset === null || stride === null || stride === 0) return null;
    const distance = vfId.rid - pfId.rid - offset;
    if (distance < 0 || distance % stride !== 0) return null;
    return distance / stride;
  }
}

/**
 * A non-negative decimal number from a file such as `sriov_numvfs`, or `null` when absent.
 *
 * @throws {SysfsError} `corrupt` when it holds anything else, `io`
 */
export function readCount(path: string): number | null {
  const text = readOrNull(path, readText)?.trim();
  if (text === undefined) return null;
  if (!/^\d+$/.test(text)) {
    throw new SysfsError(
      "corrupt",
      path,
      `expected a number in "${basename(path)}", found "${text}"`,
    );
  }
  return Number(text);
}

/**
 * Rejects a path component that could leave the directory it is joined to.
 *
 * @throws {SysfsError} `invalid-name`: `invalid <what>`
 */
export function checkName(name: string, what: string): void {
  if (!isFileName(name)) {
    throw new SysfsError("invalid-name", name, `invalid ${what}`);
  }
}

/** The PCI domain and routing ID (`bus << 8 | device << 3 | function`) of an address. */
function routingId(pci: string): { domain: number; rid: number } | null {
  const match = PCI_ADDRESS.exec(pci);
  if (match === null) return null;
  const [, domain = "", bus = "", device = "", fn = ""] = match;
  const rid = (parseInt(bus, 16) << 8) | (parseInt(device, 16) << 3) | parseInt(fn, 16);
  return { domain: parseInt(domain, 16), rid };
}
