import assert from "node:assert/strict";
import { processSpan, setProcessTimings, Timings } from "../../lib/timings.ts";

/** A clock that advances by `step` ms at each read. */
function ticking(step: number): () => number {
  let now = 0;
  return () => (now += step);
}

Deno.test("Timings records points and spans with the clock, rounded to 0.01 ms", () => {
  const t = new Timings(ticking(1.234567));
  t.mark("bundle evaluated");
  assert.equal(t.span("netlink.linkByName", () => 42), 42);
  assert.deepEqual(t.entries(), [
    { phase: "bundle evaluated", at: 1.23 },
    { phase: "netlink.linkByName", at: 2.47, ms: 1.23 },
  ]);
});

Deno.test("Timings.span() records a call that throws, and rethrows its error", () => {
  const t = new Timings(ticking(2));
  const boom = new RangeError("boom");
  assert.throws(() =>
    t.span("store.lock", () => {
      throw boom;
    }), (err) => err === boom);
  assert.deepEqual(t.entries(), [{ phase: "store.lock", at: 2, ms: 2 }]);
});

Deno.test("Timings.span() times a promise until it settles, rejection included", async () => {
  let now = 0;
  const t = new Timings(() => now);
  let settle!: (v: string) => void;
  const pending = t.span("ipam.exec", () => new Promise<string>((r) => (settle = r)));
  now = 7.5;
  settle("result");
  assert.equal(await pending, "result");
  await assert.rejects(
    t.span("ipam.exec", () => Promise.reject(new Error("IPAM failed"))),
    { message: "IPAM failed" },
  );
  assert.deepEqual(t.entries(), [
    { phase: "ipam.exec", at: 0, ms: 7.5 },
    { phase: "ipam.exec", at: 7.5, ms: 0 },
  ]);
});

Deno.test("Timings.finish() marks the phase and hands the whole timeline to each sink once", () => {
  const t = new Timings(ticking(1));
  const got: string[][] = [];
  t.mark("config validated");
  t.onFinish((entries) => got.push(entries.map((e) => e.phase)));
  t.finish("command done");
  t.finish("command done");
  assert.deepEqual(got, [["config validated", "command done"]]);
  assert.deepEqual(t.entries().map((e) => e.phase), [
    "config validated",
    "command done",
    "command done",
  ]);
});

Deno.test("processSpan() records in the process's recorder only while one is set", () => {
  const t = new Timings(ticking(1));
  assert.equal(processSpan("dlopen libc.so.6", () => "before"), "before");
  setProcessTimings(t);
  try {
    assert.equal(processSpan("dlopen libc.so.6", () => "during"), "during");
  } finally {
    setProcessTimings(null);
  }
  processSpan("dlopen libnl-3.so.200", () => "after");
  assert.deepEqual(t.entries(), [{ phase: "dlopen libc.so.6", at: 1, ms: 1 }]);
});

Deno.test("Timings with a gauge records the resident set size at each point, in MiB", () => {
  const t = new Timings(ticking(1), () => 52.34 * 2 ** 20);
  t.mark("command done");
  t.span("ipam.exec", () => undefined);
  assert.deepEqual(t.entries(), [
    { phase: "command done", at: 1, rssMiB: 52.3 },
    { phase: "ipam.exec", at: 2, ms: 1 },
  ]);
});
