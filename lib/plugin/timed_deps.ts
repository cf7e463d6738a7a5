import type { Timings } from "../timings.ts";
import type { Deps } from "./deps.ts";

/** The dependencies whose every call is a span of the timeline, named `<dep>.<method>`. */
const TIMED = ["sysfs", "netlink", "pciDriver", "rdma", "ipam", "store", "deviceInfo"] as const;

/** `target` with each method call recorded as a span named `<name>.<method>`. */
function timedObject<T extends object>(target: T, name: string, timings: Timings): T {
  return new Proxy(target, {
    get(obj, prop) {
      const value = Reflect.get(obj, prop, obj);
      if (typeof value !== "function" || typeof prop !== "string") return value;
      // Called on the real object: classes with private fields refuse a proxy as `this`.
      return (...args: unknown[]) =>
        timings.span(`${name}.${prop}`, () => Reflect.apply(value, obj, args));
    },
  });
}

/**
 * The dependencies with every call to the kernel, the sysfs reader, the IPAM plugin, the state
 * store and the device-info files recorded in `deps.timings`: the timeline's sysfs reads, kernel
 * requests, IPAM spawn and wait, lock, claim and state writes. Without `deps.timings`, `deps` as
 * it is.
 *
 * @param deps the dependencies
 * @returns the same dependencies, each call timed
 */
export function timedDeps(deps: Deps): Deps {
  const timings = deps.timings;
  if (timings === undefined) return deps;
  const timed: Deps = { ...deps };
  for (const name of TIMED) {
    (timed as unknown as Record<string, object>)[name] = timedObject(deps[name], name, timings);
  }
  return timed;
}
