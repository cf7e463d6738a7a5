/**
 * Symbols bound on first use, for the libnl and libc bindings.
 *
 * @module
 */

/** Opens a library with the given symbols: `Deno.dlopen` with the caller's error handling. */
export type Open = <T extends Deno.ForeignLibraryInterface>(symbols: T) => Deno.DynamicLibrary<T>;

/**
 * The symbols of `table`, each bound on first use by an `open` of that symbol alone.
 *
 * Deno builds a call trampoline for every symbol it is given (about 0.075 ms each here), and a
 * command calls a third to a half of a binding's table, so binding a whole table up front costs
 * more than the calls themselves. `dlopen(3)` of a library that is already loaded only counts a
 * reference, so each bind costs its trampoline alone. Only the names of `table` are ever bound:
 * a binding's table stays the whole of what it can call.
 *
 * @param table The symbol table, e.g. a binding's `libcTable(...)`.
 * @param open Opens the library with one symbol.
 * @returns An object with a getter per symbol that binds it and then replaces itself with the
 *   bound function.
 */
export function lazySymbols<S extends Deno.ForeignLibraryInterface>(
  table: S,
  open: Open,
): Deno.DynamicLibrary<S>["symbols"] {
  const symbols: Record<string, unknown> = {};
  for (const name of Object.keys(table)) {
    Object.defineProperty(symbols, name, {
      configurable: true,
      enumerable: true,
      get() {
        const fn = open({ [name]: table[name]! }).symbols[name];
        Object.defineProperty(symbols, name, { value: fn, enumerable: true });
        return fn;
      },
    });
  }
  return symbols as Deno.DynamicLibrary<S>["symbols"];
}
