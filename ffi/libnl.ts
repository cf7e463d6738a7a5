/**
 * Nothing is opened at import time, so `lib/` and the unit tests import this module without
 * `--allow-ffi` and on machines without libnl.
 *
 * @module
 */

import { lazySymbols, opener } from "./lazy_symbols.ts";
import { LIBNL_ROUTE_SYMBOLS } from "./libnl_route_symbols.ts";
import { LIBNL_SYMBOLS } from "./libnl_symbols.ts";

export interface Libnl {
  readonly core: Deno.DynamicLibrary<typeof LIBNL_SYMBOLS>["symbols"];
  readonly route: Deno.DynamicLibrary<typeof LIBNL_ROUTE_SYMBOLS>["symbols"];
}

const LIBNL_SONAME = "libnl-3.so.200";
const LIBNL_ROUTE_SONAME = "libnl-route-3.so.200";

let loaded: Libnl | null = null;

/**
 * Loads libnl-3 and libnl-route-3 once and returns their symbols, each bound when first called;
 * later calls return the same object.
 *
 * @throws {Deno.errors.NotCapable} Without `--allow-ffi`, unchanged.
 * @throws {Error} "Cannot load libnl-route-3.so.200: ..." (or libnl-3) when a library cannot be
 *   opened, e.g. because Debian's `libnl-route-3-200` is not installed.
 */
export function openLibnl(): Libnl {
  if (loaded === null) {
    // Both libraries are opened here, with no symbol, so that a missing one fails now with its
    // soname rather than at some later call. libnl-route-3 links against libnl-3, so both
    // handles share one copy of libnl-3.
    const [openCore, openRoute] = [opener(LIBNL_SONAME), opener(LIBNL_ROUTE_SONAME)];
    const core = openCore({});
    try {
      openRoute({});
    } catch (error) {
      core.close();
      throw error;
    }
    loaded = {
      core: lazySymbols(LIBNL_SONAME, LIBNL_SYMBOLS, openCore),
      route: lazySymbols(LIBNL_ROUTE_SONAME, LIBNL_ROUTE_SYMBOLS, openRoute),
    };
  }
  return loaded;
}
