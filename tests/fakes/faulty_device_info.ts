import type { DeviceInfoStore } from "../../lib/state/device_info.ts";
import { pathError } from "../../lib/state/state_error.ts";
import type { Faults } from "./faults.ts";

/**
 * The real device-info store with its writes counted as fault steps, so that the plugin tier's
 * failure injection fails the device-info write and its undo like any kernel step. A fault is
 * thrown as the store's own I/O failure (`StateError` rule `io`).
 */
export class FaultyDeviceInfo implements DeviceInfoStore {
  readonly #inner: DeviceInfoStore;
  readonly #faults: Faults;

  /**
   * @param inner the store that does the work
   * @param faults the world's fault counter
   */
  constructor(inner: DeviceInfoStore, faults: Faults) {
    this.#inner = inner;
    this.#faults = faults;
  }

  /** {@link DeviceInfoStore.read}; reads are not fault steps. */
  read(path: string): string | null {
    return this.#inner.read(path);
  }

  /** {@link DeviceInfoStore.write}, after its fault step. */
  write(path: string, text: string): void {
    this.#step(`write device-info ${path}`, path, "write");
    this.#inner.write(path, text);
  }

  /** {@link DeviceInfoStore.remove}, after its fault step. */
  remove(path: string): void {
    this.#step(`remove device-info ${path}`, path, "remove");
    this.#inner.remove(path);
  }

  #step(op: string, path: string, verb: string): void {
    try {
      this.#faults.step(op);
    } catch (err) {
      throw pathError("io", path, verb, (err as Error).message, err);
    }
  }
}
