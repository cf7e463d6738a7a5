/**
 * Where the NPWG device-info files live: the interface the plugin writes them through.
 *
 * @module
 */

/**
 * The device-info files of one directory (`/var/run/k8s.cni.cncf.io/devinfo/cni/` on a node),
 * each named by the path the runtime passes in `runtimeConfig.CNIDeviceInfoFile`. A path must
 * be a file directly in that directory, reached without a symbolic link at any component, and
 * a regular file when it exists; each method refuses any other with a `ConfinedPathError`
 * naming the rule, before it reads or writes anything.
 */
export interface DeviceInfoStore {
  /**
   * The file's text, or `null` when there is none.
   *
   * @throws {ConfinedPathError} the rule the path breaks, or `io` when it cannot be read
   */
  read(path: string): string | null;
  /**
   * Replaces the file (or creates it) with `text`, mode 0444 as Multus writes it: a temp file
   * renamed over it, so that a reader sees the old document or the new one.
   *
   * @throws {ConfinedPathError} the rule the path breaks, or `io`
   */
  write(path: string, text: string): void;
  /**
   * Removes the file; a missing one is no error. Only the undo of an ADD that created it calls
   * this: a device-info file that was there before ADD is Multus's, which removes it on DEL.
   *
   * @throws {ConfinedPathError} the rule the path breaks, or `io`
   */
  remove(path: string): void;
}
