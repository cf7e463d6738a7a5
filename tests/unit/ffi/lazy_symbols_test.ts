import assert from "node:assert/strict";
import { lazySymbols, type Open } from "../../../ffi/lazy_symbols.ts";

const TABLE = {
  getpid: { parameters: [], result: "i32" },
  getppid: { parameters: [], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** An `open` that records the tables it is asked for and hands out marked stand-ins. */
function recordingOpen(): { open: Open; opened: string[][] } {
  const opened: string[][] = [];
  const open = ((symbols: Deno.ForeignLibraryInterface) => {
    opened.push(Object.keys(symbols));
    const bound = Object.fromEntries(Object.keys(symbols).map((name) => [name, () => name]));
    return { symbols: bound, close() {} };
  }) as unknown as Open;
  return { open, opened };
}

Deno.test("lazySymbols() binds a symbol at its first use, alone and once", () => {
  const { open, opened } = recordingOpen();
  const symbols = lazySymbols(TABLE, open);
  assert.deepEqual(opened, []);
  const first = symbols.getpid;
  assert.equal(symbols.getpid, first);
  assert.deepEqual(opened, [["getpid"]]);
  assert.deepEqual(Object.keys(symbols).sort(), ["getpid", "getppid"]);
  assert.deepEqual(opened, [["getpid"]], "listing the names binds nothing");
});

Deno.test("lazySymbols() never binds a name outside its table", () => {
  const { open, opened } = recordingOpen();
  const symbols = lazySymbols(TABLE, open) as Record<string, unknown>;
  assert.equal(symbols["write"], undefined);
  assert.deepEqual(opened, []);
});

Deno.test("lazySymbols() over libc calls the real function", () => {
  const symbols = lazySymbols(TABLE, (one) => Deno.dlopen("libc.so.6", one));
  assert.equal(symbols.getpid(), Deno.pid);
});
