/**
 * The plugin's files: attachment cache (ours and the Go plugin's format), per-device allocation
 * records, locks, the `logFile` and the device-info files, each reached through its directory's
 * confined handle. The only code that writes files of the plugin.
 *
 * @module
 */
export type { AttachmentKey, AttachmentRecord, DeviceOwner, Store } from "./store.ts";
export { type AttachmentScan, FileStore, type FileStoreOptions } from "./file_store.ts";
export { type PathRule, StateError, type StateErrorCode } from "./state_error.ts";
