/**
 * The operator tool's reads of the files it is named (`ib-sriov validate nad.yaml`). They are
 * reads like those of the node, so they take the sysfs reader's binding, which cannot write: the
 * binary's `--allow-read` covers only the state directories, and an operator names configs
 * anywhere. `readOperatorFile(path, maxBytes)` throws `LibcError` when `open()` or `read()`
 * fails, and "EFBIG" past `maxBytes`.
 *
 * @module
 */
export { readFile as readOperatorFile } from "../../ffi/sysfs_libc.ts";
