import assert from "node:assert/strict";
import { createHandlers } from "../../lib/plugin/handlers.ts";
import { type TimingEntry, Timings } from "../../lib/timings.ts";
import { netConf, request, world } from "./world.ts";

const LOG_FILE = "/var/log/ib-sriov/ib-sriov.log";

/** The phases of `entries` that are in `wanted`, in the order they were recorded. */
function phasesAmong(entries: readonly TimingEntry[], wanted: readonly string[]): string[] {
  return entries.map((e) => e.phase).filter((p) => wanted.includes(p));
}

Deno.test("ADD and DEL at logLevel debug end with one timings record: validation, lock, kernel requests, IPAM, state writes", async () => {
  await using w = await world();
  let now = 0;
  const timings = new Timings(() => (now += 1));
  const handlers = createHandlers(() => ({ ...w.deps, timings }), timings);
  const conf = netConf(1, { logFile: LOG_FILE, logLevel: "debug" });
  await handlers.add(request("ADD", conf));

  const lines = w.logFiles.get(LOG_FILE)!.map((l) => JSON.parse(l) as Record<string, unknown>);
  const last = lines.at(-1)!;
  assert.equal(last.level, "debug");
  assert.equal(last.msg, "timings");
  assert.equal(last.command, "ADD");
  assert.equal(lines.filter((l) => l.msg === "timings").length, 1);
  const entries = last.timings as TimingEntry[];
  // In this order, each at least once (a span is recorded when it ends; moveLink is the first
  // kernel change, IPAM comes after it).
  const order = [
    "config validated",
    "dependencies loaded",
    "store.lock",
    "store.claimDevice",
    "netlink.moveLink",
    "ipam.exec",
    "command done",
  ];
  assert.deepEqual(
    phasesAmong(entries, order).filter((p, i, all) => all.indexOf(p) === i),
    order,
  );
  assert.ok(entries.some((e) => e.phase === "store.writeAttachment" && e.ms === 1));
  // The points are read off the injected clock: one read each.
  assert.deepEqual(entries.map((e) => e.at).slice(0, 2), [1, 2]);

  await handlers.del(request("DEL", conf));
  const del = w.logFiles.get(LOG_FILE)!.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(del.at(-1)!.msg, "timings");
  assert.equal(del.at(-1)!.command, "DEL");
  const delPhases = (del.at(-1)!.timings as TimingEntry[]).map((e) => e.phase);
  assert.ok(delPhases.includes("store.removeAttachment"), delPhases.join(" "));
  assert.equal(delPhases.at(-1), "command done");
});

Deno.test("ADD below logLevel debug writes no timings record", async () => {
  await using w = await world();
  const timings = new Timings(() => performance.now());
  const handlers = createHandlers(() => ({ ...w.deps, timings }), timings);
  await handlers.add(request("ADD", netConf(1, { logFile: LOG_FILE, logLevel: "info" })));
  const msgs = w.logFiles.get(LOG_FILE)!.map((l) => (JSON.parse(l) as { msg: string }).msg);
  assert.deepEqual(msgs, ["attached"]);
  assert.ok(timings.entries().some((e) => e.phase === "netlink.moveLink"));
});
