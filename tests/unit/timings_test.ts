import assert from "node:assert/strict";
import { Timings } from "../../lib/timings.ts";

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

Deno.test("Timings.timed() records each method call as a span, run on the object itself", async () => {
  class Store {
    #held = "0000:3b:00.2";
    lock(pci: string): string {
      return `${pci} after ${this.#held}`;
    }
    async claim(): Promise<string> {
      return await Promise.resolve(this.#held);
    }
  }
  const t = new Timings(ticking(1));
  const ipam = { exec: (n: number) => n + 1, limit: 3 };
  const store = t.timed(new Store(), "store");
  assert.equal(store.lock("0000:3b:00.3"), "0000:3b:00.3 after 0000:3b:00.2");
  assert.equal(await store.claim(), "0000:3b:00.2");
  const timedIpam = t.timed(ipam, "ipam");
  assert.equal(timedIpam.exec(1), 2);
  assert.equal(timedIpam.limit, 3);
  assert.deepEqual(t.entries().map((e) => e.phase), ["store.lock", "store.claim", "ipam.exec"]);
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
