/**
 * Symbols bound on first use, for the libnl and libc bindings.
 *
 * @module
 */

import { toCString } from "./c_string.ts";

/** Opens a library with the given symbols: `Deno.dlopen` with the caller's error handling. */
export type Open = <T extends Deno.ForeignLibraryInterface>(symbols: T) => Deno.DynamicLibrary<T>;

/**
 * `Deno.dlopen` of `soname`, every failure but a missing permission wrapped in "Cannot load
 * <soname>: ..." (Deno 2 reports a missing --allow-ffi as NotCapable; PermissionDenied is the
 * OS's EACCES).
 */
export function opener(soname: string): Open {
  return (symbols) => {
    try {
      return Deno.dlopen(soname, symbols);
    } catch (error) {
      if (
        error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
      ) {
        throw error;
      }
      throw new Error(`Cannot load ${soname}: ${(error as Error).message}`, { cause: error });
    }
  };
}

/** `dlopen(3)` flags: resolve every symbol now, and only return a library already loaded. */
const RTLD_NOW = 0x2;
const RTLD_NOLOAD = 0x4;

/** What this module binds through Deno itself, once: the dynamic linker's look-ups. */
const LINKER_SYMBOLS = {
  dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

let linker: Deno.DynamicLibrary<typeof LINKER_SYMBOLS>["symbols"] | null = null;
const handles = new Map<string, Deno.PointerValue>();

/**
 * The address of `name` in the library `soname`, which the caller has opened with Deno; `null`
 * when the linker cannot give it (the caller then binds through Deno, which reports why).
 */
function address(soname: string, name: string): Deno.PointerValue {
  // glibc's dynamic linker calls live in libc.so.6 itself (since 2.34).
  linker ??= Deno.dlopen("libc.so.6", LINKER_SYMBOLS).symbols;
  if (!handles.has(soname)) {
    handles.set(soname, linker.dlopen(toCString(soname), RTLD_NOW | RTLD_NOLOAD));
  }
  const handle = handles.get(soname) ?? null;
  return handle === null ? null : linker.dlsym(handle, toCString(name));
}

/**
 * The symbols of `table`, each bound on first use.
 *
 * A function is called through a pointer the dynamic linker gives (`Deno.UnsafeFnPointer`):
 * Deno compiles a call trampoline for each symbol `Deno.dlopen` binds, about 70 µs a symbol
 * here, which came to some 3.5 ms of a command's 50 symbols; a pointer's calls take the generic
 * path instead, about 1 µs more per call and 20 µs to bind. A static (`environ`) is bound through
 * `open`, as is anything the linker cannot find. Only the names of `table` are ever bound, with
 * the signatures it gives: a binding's table stays the whole of what it can call. The caller has
 * opened `soname` with `Deno.dlopen`; each symbol's getter binds it, then replaces itself.
 */
export function lazySymbols<S extends Deno.ForeignLibraryInterface>(
  soname: string,
  table: S,
  open: Open,
): Deno.DynamicLibrary<S>["symbols"] {
  const symbols: Record<string, unknown> = {};
  for (const name of Object.keys(table)) {
    Object.defineProperty(symbols, name, {
      configurable: true,
      enumerable: true,
      get() {
        const fn = bind(soname, table, name, open);
        Object.defineProperty(symbols, name, { value: fn, enumerable: true });
        return fn;
      },
    });
  }
  return symbols as Deno.DynamicLibrary<S>["symbols"];
}

/** The symbols of `table`, all bound now, the way {@linkcode lazySymbols} binds each. */
export function boundSymbols<S extends Deno.ForeignLibraryInterface>(
  soname: string,
  table: S,
  open: Open,
): Deno.DynamicLibrary<S>["symbols"] {
  const entries = Object.keys(table).map((name) => [name, bind(soname, table, name, open)]);
  return Object.fromEntries(entries) as Deno.DynamicLibrary<S>["symbols"];
}

/** One symbol of `table`: a function through the linker's pointer, else through `open`. */
function bind(
  soname: string,
  table: Deno.ForeignLibraryInterface,
  name: string,
  open: Open,
): unknown {
  const definition = table[name]!;
  // The linker is asked for the declared name (`openat2: { name: "syscall" }`), as Deno would.
  const pointer = "parameters" in definition ? address(soname, definition.name ?? name) : null;
  if (pointer === null) return open({ [name]: definition }).symbols[name];
  const fn = new Deno.UnsafeFnPointer(
    pointer as Deno.PointerObject<Deno.ForeignFunction>,
    definition as Deno.ForeignFunction,
  );
  return fn.call.bind(fn);
}
