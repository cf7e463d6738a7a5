/**
 * The PCI driver binder's libc binding (`lib/netlink/libc_pci_driver.ts` only): it writes a
 * driver's `bind` or `unbind` file, and refuses any other path before a call.
 *
 * @module
 */

import * as libc from "./_libc.ts";
import { toCString } from "./c_string.ts";

/** The calls a write to an existing sysfs attribute needs. */
export const PCI_DRIVER_LIBC_SYMBOLS = {
  open: libc.SHARED_SYMBOLS.open,
  write: libc.SHARED_SYMBOLS.write,
  close: libc.SHARED_SYMBOLS.close,
} as const satisfies Deno.ForeignLibraryInterface;

export const openPciDriverLibc = libc.libcLoader(PCI_DRIVER_LIBC_SYMBOLS);

/** A driver's control file: the last two components are `drivers/<driver>/`, then the op. */
const DRIVER_CONTROL_FILE = /\/drivers\/(?!\.\.?\/)[^/]+\/(bind|unbind)$/;

const encoder = new TextEncoder();

/**
 * Writes text to a driver's `bind` or `unbind` file in one `write()` where it can, as
 * `echo -n text > path` does: without creating or truncating it. The driver core runs the unbind
 * or the bind inside the `write()`, so its failure (`ENODEV`, `EBUSY`, ...) is that call's errno.
 *
 * @throws {Error} For a path other than `<...>/drivers/<driver>/bind` or `unbind`, before any
 *   call.
 * @throws {LibcError} When `open()`, `write()` or `close()` fails.
 */
export function writeText(path: string, text: string): void {
  if (!DRIVER_CONTROL_FILE.test(path) || path.split("/").includes("..")) {
    throw new Error(`Cannot write ${JSON.stringify(path)}: not a driver's bind or unbind file`);
  }
  const sym = openPciDriverLibc();
  const fd = sym.open(toCString(path), libc.O_WRONLY | libc.O_CLOEXEC, 0);
  if (fd < 0) throw libc.lastError(sym, "open");
  let closed = false;
  try {
    libc.writeAll(sym, fd, encoder.encode(text));
    // A write's error may only surface at close() (NFS, some device files): it counts here.
    closed = true;
    libc.close(sym, fd);
  } finally {
    // After a failed write the first error is the one to report; close() only releases the fd.
    if (!closed) sym.close(fd);
  }
}
