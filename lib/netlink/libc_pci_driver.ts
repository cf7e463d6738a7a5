/**
 * The real {@linkcode PciDriver}: writes a PCI address to a driver's `bind` or `unbind` file in
 * sysfs, through libc (`ffi/pci_driver_libc.ts`, which writes `bind` and `unbind` only), because
 * Deno's file APIs refuse `/sys` without `--allow-all`. The driver core runs the unbind (the driver's `remove`) or the bind (its
 * `probe`) inside the `write()`, so its failure comes back as that call's errno.
 *
 * @module
 */

import { join } from "../path.ts";
import { LibcError } from "../../ffi/errno.ts";
import { writeText } from "../../ffi/pci_driver_libc.ts";
import { PathError } from "../path_error.ts";
import { PCI_ADDRESS } from "../pci_address.ts";
import type { PciDriver } from "./pci_driver.ts";

/** Where the driver core lists the PCI drivers, each a directory with `bind` and `unbind`. */
const DRIVERS_DIR = "/sys/bus/pci/drivers";

/** Which of the driver's files is written. */
export type PciDriverOp = "bind" | "unbind";

/** Options of {@linkcode LibcPciDriver}. */
export interface LibcPciDriverOptions {
  /** The directory that holds `sys/`: `/` in production, a temporary tree in tests. */
  root?: string;
}

/** The fields of a {@linkcode PciDriverError}. */
export interface PciDriverErrorInit {
  /** `invalid-name` for an address or driver name refused before any write; `io` otherwise. */
  code: "invalid-name" | "io";
  /** The file written (for `invalid-name`: the rejected name). */
  path: string;
  /** What was attempted. */
  op: PciDriverOp;
  /** The PCI address, as given. */
  pci: string;
  /** The driver, as given. */
  driver: string;
  /** The errno of the failed call; `null` for `invalid-name`. */
  errno: number | null;
  /** The errno's name (`"ENODEV"`); `null` for `invalid-name`. */
  errnoName: string | null;
  /** What went wrong, without the address, driver and file, e.g. `No such device`. */
  reason: string;
}

/**
 * A bind or unbind failed, e.g. `Cannot unbind 0000:3b:00.1 from driver "mlx5_core"
 * (/sys/bus/pci/drivers/mlx5_core/unbind): No such device`.
 */
export class PciDriverError extends PathError {
  override name = "PciDriverError";
  /** What was attempted. */
  readonly op: PciDriverOp;
  /** The PCI address, as given. */
  readonly pci: string;
  /** The driver, as given. */
  readonly driver: string;
  /** The errno of the failed call; `null` for `invalid-name`. */
  readonly errno: number | null;
  /** The errno's name (`"ENODEV"`, `"EBUSY"`); `null` for `invalid-name`. */
  readonly errnoName: string | null;
  /** What went wrong, for callers that name the VF and the driver their own way. */
  readonly reason: string;

  /**
   * @param message The full message, naming the address, the driver and the file.
   * @param init The fields.
   * @param options `cause`: the `LibcError`, for `io`.
   */
  constructor(message: string, init: PciDriverErrorInit, options: { cause?: unknown } = {}) {
    super(init.code, init.path, message, options);
    this.op = init.op;
    this.pci = init.pci;
    this.driver = init.driver;
    this.errno = init.errno;
    this.errnoName = init.errnoName;
    this.reason = init.reason;
  }
}

/**
 * {@linkcode PciDriver} over sysfs, written through libc.
 *
 * @example
 * ```ts ignore
 * import { LibcPciDriver } from "./libc_pci_driver.ts";
 * const pci = new LibcPciDriver();
 * pci.unbind("0000:3b:00.2", "mlx5_core");
 * pci.bind("0000:3b:00.2", "mlx5_core");
 * ```
 */
export class LibcPciDriver implements PciDriver {
  readonly #drivers: string;

  /**
   * @param options `root`: the directory that holds `sys/` (default `/`).
   */
  constructor({ root = "/" }: LibcPciDriverOptions = {}) {
    this.#drivers = join(root, DRIVERS_DIR);
  }

  /**
   * @param pci The device's PCI address (`0000:3b:00.2`).
   * @param driver The driver it is bound to (`mlx5_core`).
   * @throws {PciDriverError} `invalid-name` for an address or driver name that is not one;
   *   `io` with the errno of the write (`ENODEV` when the device is not bound to `driver`,
   *   `ENOENT` when there is no such driver).
   */
  unbind(pci: string, driver: string): void {
    this.#write("unbind", pci, driver);
  }

  /**
   * @param pci The device's PCI address.
   * @param driver The driver to bind it to.
   * @throws {PciDriverError} `invalid-name` as for `unbind`; `io` with the errno of the write
   *   (`ENODEV` when there is no such device or the driver refuses it, `EBUSY` when it is bound
   *   already, or the errno of the driver's probe).
   */
  bind(pci: string, driver: string): void {
    this.#write("bind", pci, driver);
  }

  /** Validates both names, then writes the address to the driver's `op` file. */
  #write(op: PciDriverOp, pci: string, driver: string): void {
    const what = `${op} ${PCI_ADDRESS.test(pci) ? pci : JSON.stringify(pci)} ${
      op === "bind" ? "to" : "from"
    } driver ${JSON.stringify(driver)}`;
    const invalid = (name: string, reason: string) =>
      new PciDriverError(`Cannot ${what}: ${reason}`, {
        code: "invalid-name",
        path: name,
        op,
        pci,
        driver,
        errno: null,
        errnoName: null,
        reason,
      });
    // Both names become parts of a path under /sys: neither may leave the driver's directory.
    if (!PCI_ADDRESS.test(pci)) throw invalid(pci, "not a PCI address (DDDD:BB:DD.F)");
    if (driver === "" || driver === "." || driver === ".." || /[/\0]/.test(driver)) {
      throw invalid(driver, "not a driver name");
    }
    const path = join(this.#drivers, driver, op);
    try {
      writeText(path, pci);
    } catch (error) {
      if (!(error instanceof LibcError)) throw error;
      throw new PciDriverError(`Cannot ${what} (${path}): ${error.reason}`, {
        code: "io",
        path,
        op,
        pci,
        driver,
        errno: error.errno,
        errnoName: error.code,
        reason: error.reason,
      }, { cause: error });
    }
  }
}
