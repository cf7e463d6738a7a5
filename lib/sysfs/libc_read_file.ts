/**
 * The operator tool's reads of the files it is named (`ib-sriov validate nad.yaml`). They are
 * reads like those of the node, so they take the sysfs reader's binding, which cannot write: the
 * binary's `--allow-read` covers only the state directories, and an operator names configs
 * anywhere.
 *
 * @module
 */
import { readFile } from "../../ffi/sysfs_libc.ts";

/**
 * Reads a whole file through libc.
 *
 * @param path The file.
 * @param maxBytes The most bytes it may hold.
 * @returns Its bytes.
 * @throws {LibcError} When `open()` or `read()` fails, or "EFBIG" past `maxBytes`.
 */
export function readOperatorFile(path: string, maxBytes: number): Uint8Array {
  return readFile(path, maxBytes);
}
