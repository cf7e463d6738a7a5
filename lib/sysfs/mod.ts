/**
 * The READ privilege: everything the plugin reads from `/sys`.
 *
 * @module
 */

export { LibcSysfs, type LibcSysfsOptions } from "./libc_sysfs.ts";
export { SysfsError, type SysfsErrorCode } from "./sysfs_error.ts";
export type { Sysfs } from "./sysfs.ts";
