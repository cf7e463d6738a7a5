import assert from "node:assert/strict";
import { boundSymbols, lazySymbols, type Open } from "../../../ffi/lazy_symbols.ts";

const TABLE = {
  getpid: { parameters: [], result: "i32" },
  getppid: { parameters: [], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Deno's own `open`, recording the tables it is asked for. */
function recordingOpen(): { open: Open; opened: string[][] } {
  const opened: string[][] = [];
  const open: Open = (symbols) => {
    opened.push(Object.keys(symbols));
    return Deno.dlopen("libc.so.6", symbols);
  };
  return { open, opened };
}

Deno.test("lazySymbols() binds a function at its first use, once, through the linker", () => {
  const { open, opened } = recordingOpen();
  const symbols = lazySymbols("libc.so.6", TABLE, open);
  assert.equal(Object.getOwnPropertyDescriptor(symbols, "getpid")?.value, undefined);
  assert.deepEqual(Object.keys(symbols).sort(), ["getpid", "getppid"]);
  const first = symbols.getpid;
  assert.equal(first(), Deno.pid);
  assert.equal(symbols.getpid, first);
  assert.equal(Object.getOwnPropertyDescriptor(symbols, "getpid")?.value, first);
  assert.equal(Object.getOwnPropertyDescriptor(symbols, "getppid")?.value, undefined);
  assert.deepEqual(opened, [], "a function the linker finds is not bound through Deno");
});

Deno.test("lazySymbols() looks a symbol up by its declared name, not by its key", () => {
  const { open, opened } = recordingOpen();
  // The key is a libc function too: asking the linker for it would call getpid().
  const table = { getpid: { name: "getppid", parameters: [], result: "i32" } } as const;
  for (
    const symbols of [lazySymbols("libc.so.6", table, open), boundSymbols("libc.so.6", table, open)]
  ) {
    assert.equal(symbols.getpid(), Deno.ppid);
  }
  assert.deepEqual(opened, []);
});

Deno.test("lazySymbols() never binds a name outside its table", () => {
  const { open, opened } = recordingOpen();
  const symbols = lazySymbols("libc.so.6", TABLE, open) as Record<string, unknown>;
  assert.equal(symbols["write"], undefined);
  assert.deepEqual(opened, []);
});

Deno.test("lazySymbols() binds a static through Deno's open", () => {
  const { open, opened } = recordingOpen();
  const symbols = lazySymbols("libc.so.6", { environ: { type: "pointer" } } as const, open);
  assert.notEqual(symbols.environ, null);
  assert.deepEqual(opened, [["environ"]]);
});

Deno.test("lazySymbols() binds through Deno's open what the linker does not find", () => {
  const { open, opened } = recordingOpen();
  const symbols = lazySymbols("libnot-loaded.so.9", TABLE, open);
  assert.equal(symbols.getppid(), Deno.ppid);
  assert.deepEqual(opened, [["getppid"]]);
});

Deno.test("boundSymbols() binds every symbol of its table at once", () => {
  const { open, opened } = recordingOpen();
  const symbols = boundSymbols("libc.so.6", TABLE, open);
  for (const name of ["getpid", "getppid"]) {
    assert.equal(typeof Object.getOwnPropertyDescriptor(symbols, name)?.value, "function");
  }
  assert.equal(symbols.getppid(), Deno.ppid);
  assert.deepEqual(opened, []);
});
