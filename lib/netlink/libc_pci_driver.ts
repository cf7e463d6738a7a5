/**
 * The real {@linkcode PciDriver}: writes a PCI address to a driver's `bind` or `unbind` file in
 * sysfs, through libc (`ffi/pci_driver_libc.ts`, which writes `bind` and `unbind` only), because
 * Deno's file APIs refuse `/sys` without `--allow-all`. The driver core runs the unbind (the
 * driver's `remove`) or the bind (its `probe`) inside the `write()`, so its failure comes back as
 * that call's errno.
 *
 * @module
 */

import { isFileName, join } from "../path.ts";
import { LibcError } from "../../ffi/errno.ts";
import { writeText } from "../../ffi/pci_driver_libc.ts";
import { PCI_ADDRESS } from "../pci_address.ts";
import type { PciDriver } from "./pci_driver.ts";

/** Where the driver core lists the PCI drivers, each a directory with `bind` and `unbind`. */
const DRIVERS_DIR = "/sys/bus/pci/drivers";

export type PciDriverOp = "bind" | "unbind";

export interface LibcPciDriverOptions {
  /** The directory that holds `sys/`: `/` in production, a temporary tree in tests. */
  root?: string;
}

/**
 * A bind or unbind failed: `invalid-name` for an address or driver name refused before any write
 * (`path` is the name), `io` with the errno of the write (`path` is the file, `cause` the
 * `LibcError`). The message is what went wrong (`No such device`).
 */
export class PciDriverError extends Error {
  override name = "PciDriverError";

  constructor(
    readonly code: "invalid-name" | "io",
    readonly path: string,
    readonly op: PciDriverOp,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * {@linkcode PciDriver} over sysfs, written through libc. Both methods throw
 * {@linkcode PciDriverError}: `unbind` gets `ENODEV` when the device is not bound to `driver`,
 * `bind` `EBUSY` when it is bound already, either `ENOENT` when there is no such driver.
 */
export class LibcPciDriver implements PciDriver {
  readonly #drivers: string;

  constructor({ root = "/" }: LibcPciDriverOptions = {}) {
    this.#drivers = join(root, DRIVERS_DIR);
  }

  unbind(pci: string, driver: string): void {
    this.#write("unbind", pci, driver);
  }

  bind(pci: string, driver: string): void {
    this.#write("bind", pci, driver);
  }

  /** Validates both names, then writes the address to the driver's `op` file. */
  #write(op: PciDriverOp, pci: string, driver: string): void {
    // Both names become parts of a path under /sys: neither may leave the driver's directory.
    if (!PCI_ADDRESS.test(pci)) {
      throw new PciDriverError("invalid-name", pci, op, "not a PCI address (DDDD:BB:DD.F)");
    }
    if (!isFileName(driver)) {
      throw new PciDriverError("invalid-name", driver, op, "not a driver name");
    }
    const path = join(this.#drivers, driver, op);
    try {
      writeText(path, pci);
    } catch (error) {
      if (!(error instanceof LibcError)) throw error;
      throw new PciDriverError("io", path, op, error.message, { cause: error });
    }
  }
}
