import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";

Deno.test("createLogger() writes a hostile value as one escaped line that parses back to it", () => {
  const lines: string[] = [];
  const log = createLogger((line) => lines.push(line), "error", { containerId: "c1" });
  const hostile = '$(reboot)\n{"level":"info","msg":"forged"}\r\u2028\u2029\u0000"\\\ud800';
  log.error("ADD failed", { error: hostile });
  assert.equal(lines.length, 1);
  const line = lines[0]!;
  assert.ok(line.endsWith("\n"));
  const body = line.slice(0, -1);
  for (const c of ["\n", "\r", "\u2028", "\u2029", "\u0000"]) assert.ok(!body.includes(c), body);
  assert.ok(body.includes("\\u2028\\u2029"), body);
  const record = JSON.parse(body) as Record<string, unknown>;
  assert.equal(record.error, hostile);
  assert.equal(record.level, "error");
  assert.equal(record.msg, "ADD failed");
  assert.equal(record.containerId, "c1");
});

Deno.test("createLogger() writes only records at or above its level", () => {
  const lines: string[] = [];
  const log = createLogger((line) => lines.push(line), "warning");
  log.debug("d");
  log.info("i");
  log.warning("w");
  log.error("e");
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { msg: string }).msg), ["w", "e"]);
});
