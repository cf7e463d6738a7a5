/**
 * The state directory: attachment cache (ours and the Go plugin's format), per-device allocation
 * records and locks. The only code that writes files.
 *
 * @module
 */
export type { AttachmentKey, AttachmentRecord, DeviceOwner, Store } from "./store.ts";
export { type AttachmentScan, FileStore, type FileStoreOptions } from "./file_store.ts";
export { StateError, type StateErrorCode } from "./state_error.ts";
export { acquireLock, FileLock, type LockOptions } from "./lock.ts";
