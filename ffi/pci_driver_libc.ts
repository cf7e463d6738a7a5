/**
 * The PCI driver binder's libc binding (`lib/netlink/libc_pci_driver.ts` only). It writes one
 * kind of file: a driver's `bind` or `unbind` (`.../drivers/<driver>/bind`), and refuses any
 * other path before a call.
 *
 * @module
 */

import * as libc from "./libc.ts";

/** The calls a write to an existing sysfs attribute needs. */
export const PCI_DRIVER_LIBC_SYMBOLS = libc.libcTable("open", "write", "close");

/** Loads libc with {@linkcode PCI_DRIVER_LIBC_SYMBOLS} once; later calls return the same object. */
export const openPciDriverLibc = libc.libcLoader(PCI_DRIVER_LIBC_SYMBOLS);

/** A driver's control file: the last two components are `drivers/<driver>/`, then the op. */
const DRIVER_CONTROL_FILE = /\/drivers\/(?!\.\.?\/)[^/]+\/(bind|unbind)$/;

/**
 * {@linkcode libc.writeText} (no create, no truncate) to a driver's `bind` or `unbind` file.
 *
 * @param path The file: `<...>/drivers/<driver>/bind` or `unbind`.
 * @param text The text, e.g. a PCI address.
 * @throws {Error} For any other path, before any call.
 * @throws {LibcError} When `open()`, `write()` or `close()` fails.
 */
export function writeText(path: string, text: string): void {
  if (!DRIVER_CONTROL_FILE.test(path) || path.split("/").includes("..")) {
    throw new Error(`Cannot write ${JSON.stringify(path)}: not a driver's bind or unbind file`);
  }
  libc.writeText(openPciDriverLibc(), path, text);
}
