/**
 * Loads libnl-3 and libnl-route-3 lazily, once, by soname.
 *
 * Nothing is opened at import time, so `lib/` and the unit tests import this module without
 * `--allow-ffi` and on machines without libnl.
 *
 * @module
 */

import { lazySymbols } from "./lazy_symbols.ts";
import { LIBNL_ROUTE_SYMBOLS } from "./libnl_route_symbols.ts";
import { LIBNL_SYMBOLS } from "./libnl_symbols.ts";

/** The loaded libnl-3 symbols. */
export type LibnlCoreSymbols = Deno.DynamicLibrary<typeof LIBNL_SYMBOLS>["symbols"];
/** The loaded libnl-route-3 symbols. */
export type LibnlRouteSymbols = Deno.DynamicLibrary<typeof LIBNL_ROUTE_SYMBOLS>["symbols"];

/** Both libraries' symbols. */
export interface Libnl {
  /** libnl-3: sockets, messages, attributes, addresses, caches. */
  readonly core: LibnlCoreSymbols;
  /** libnl-route-3: links, addresses, routes. */
  readonly route: LibnlRouteSymbols;
}

const LIBNL_SONAME = "libnl-3.so.200";
const LIBNL_ROUTE_SONAME = "libnl-route-3.so.200";

let loaded: Libnl | null = null;

/** Opens one library, wrapping every failure but a missing permission. */
function load<S extends Deno.ForeignLibraryInterface>(
  soname: string,
  symbols: S,
): Deno.DynamicLibrary<S> {
  try {
    return Deno.dlopen(soname, symbols);
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) throw error;
    throw new Error(`Cannot load ${soname}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Loads libnl-3 and libnl-route-3 once and returns their symbols, each bound when first called;
 * later calls return the same object.
 *
 * @returns The symbols of both libraries.
 * @throws {Deno.errors.PermissionDenied} Without `--allow-ffi`, unchanged.
 * @throws {Error} "Cannot load libnl-route-3.so.200: ..." (or libnl-3) when a library cannot be
 *   opened, e.g. because Debian's `libnl-route-3-200` is not installed.
 *
 * @example
 * ```ts ignore
 * import { openLibnl } from "./libnl.ts";
 * const { core } = openLibnl();
 * ```
 */
export function openLibnl(): Libnl {
  if (loaded === null) {
    // Both libraries are opened here, with no symbol, so that a missing one fails now with its
    // soname rather than at some later call. libnl-route-3 links against libnl-3, so both
    // handles share one copy of libnl-3.
    const core = load(LIBNL_SONAME, {});
    try {
      load(LIBNL_ROUTE_SONAME, {});
    } catch (error) {
      core.close();
      throw error;
    }
    loaded = {
      core: lazySymbols(LIBNL_SONAME, LIBNL_SYMBOLS, (one) => load(LIBNL_SONAME, one)),
      route: lazySymbols(
        LIBNL_ROUTE_SONAME,
        LIBNL_ROUTE_SYMBOLS,
        (one) => load(LIBNL_ROUTE_SONAME, one),
      ),
    };
  }
  return loaded;
}
