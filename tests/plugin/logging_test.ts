import assert from "node:assert/strict";
import { cmdAdd } from "../../lib/plugin/add.ts";
import { cmdDel } from "../../lib/plugin/del.ts";
import { netConf, POD, request, VFS, type World, world } from "./world.ts";

const LOG_FILE = "/var/log/ib-sriov/ib-sriov.log";

/** A parsed log record. */
type LogRecord = Record<string, unknown> & { level: string; msg: string };

/**
 * Parses whole JSON lines and asserts that every record names the request: container, netns,
 * interface and device.
 */
function records(lines: readonly string[] | undefined, command = "ADD", vf = 1): LogRecord[] {
  return (lines ?? []).map((line) => {
    assert.ok(line.endsWith("\n") && !line.slice(0, -1).includes("\n"), `not one line: ${line}`);
    const record = JSON.parse(line) as LogRecord;
    assert.equal(record.command, command);
    assert.equal(record.containerId, "ctr-a");
    assert.equal(record.netns, POD);
    assert.equal(record.ifname, "net1");
    assert.equal(record.deviceID, VFS[vf]!.pci);
    return record;
  });
}

function levelsAndMessages(list: LogRecord[]): [string, string][] {
  return list.map((r) => [r.level, r.msg]);
}

function assertAttached(w: World): void {
  assert.equal(w.kernel.linksIn(POD).get("net1")?.up, true);
}

Deno.test("cmdAdd() and cmdDel() with logFile write their records to it, none to deps.log", async () => {
  await using w = await world();
  const conf = netConf(1, { logFile: LOG_FILE });
  await cmdAdd(w.deps, request("ADD", conf));
  assertAttached(w);
  const added = records(w.logFiles.get(LOG_FILE));
  assert.deepEqual(levelsAndMessages(added), [["info", "attached"]]);
  assert.equal(added[0]!.hostIfName, VFS[1]!.netdev);

  await cmdDel(w.deps, request("DEL", conf));
  const all = w.logFiles.get(LOG_FILE)!;
  assert.deepEqual(levelsAndMessages(records(all.slice(1), "DEL")), [["info", "detached"]]);
  assert.deepEqual(w.logs, []);
  assert.deepEqual([...w.logFiles.keys()], [LOG_FILE]);
});

Deno.test("cmdAdd() without logFile writes its records to deps.log", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  assert.deepEqual(levelsAndMessages(records(w.logs)), [["info", "attached"]]);
  assert.equal(w.logFiles.size, 0);
});

Deno.test("cmdAdd() with a logFile that cannot be opened succeeds and logs to deps.log after a warning naming the file", async () => {
  await using w = await world();
  const reason = `Cannot open log file "${LOG_FILE}": No such file or directory`;
  w.logFileErrors.set(LOG_FILE, new Error(reason));
  const result = await cmdAdd(w.deps, request("ADD", netConf(1, { logFile: LOG_FILE })));
  assert.equal(result.interfaces[0]!.name, "net1");
  assertAttached(w);
  const logged = records(w.logs);
  assert.deepEqual(levelsAndMessages(logged), [
    ["warning", "cannot open log file; logging to stderr instead"],
    ["info", "attached"],
  ]);
  assert.equal(logged[0]!.logFile, LOG_FILE);
  assert.equal(logged[0]!.error, reason);
  assert.equal(w.logFiles.size, 0);
});

Deno.test("cmdAdd() whose log file fails a write succeeds and logs to deps.log after a warning", async () => {
  await using w = await world();
  const tried: string[] = [];
  w.deps.openLog = (path) => (line) => {
    tried.push(line);
    throw new Error(`Cannot write log file "${path}": No space left on device`);
  };
  await cmdAdd(w.deps, request("ADD", netConf(1, { logFile: LOG_FILE })));
  assertAttached(w);
  // One attempt on the file; from then on the record and any later ones go to deps.log.
  assert.deepEqual(levelsAndMessages(records(tried)), [["info", "attached"]]);
  const logged = records(w.logs);
  assert.deepEqual(levelsAndMessages(logged), [
    ["warning", "cannot write log file; logging to stderr instead"],
    ["info", "attached"],
  ]);
  assert.equal(logged[0]!.logFile, LOG_FILE);
  assert.equal(logged[0]!.error, `Cannot write log file "${LOG_FILE}": No space left on device`);
  assert.equal(logged[1]!.msg, "attached");
});

Deno.test("requestLogger() writes only records at or above logLevel, to the log file as to deps.log", async () => {
  await using w = await world();
  // "attached" is info: not written at warning.
  await cmdAdd(w.deps, request("ADD", netConf(1, { logFile: LOG_FILE, logLevel: "warning" })));
  assertAttached(w);
  assert.deepEqual(w.logFiles.get(LOG_FILE), []);
  // "no attachment record" is debug: written at debug only.
  const other = { containerId: "ctr-b" };
  await cmdDel(w.deps, request("DEL", netConf(1, { logFile: LOG_FILE, logLevel: "info" }), other));
  assert.deepEqual(w.logFiles.get(LOG_FILE), []);
  await cmdDel(w.deps, request("DEL", netConf(1, { logFile: LOG_FILE, logLevel: "debug" }), other));
  const lines = w.logFiles.get(LOG_FILE)!.map((l) => JSON.parse(l) as LogRecord);
  assert.deepEqual(levelsAndMessages(lines), [["debug", "no attachment record; nothing to undo"]]);
  assert.equal(lines[0]!.containerId, "ctr-b");
  assert.deepEqual(w.logs, []);
});

Deno.test("requestLogger() writes the open-failure warning even at logLevel error, and nothing else", async () => {
  await using w = await world();
  w.logFileErrors.set(LOG_FILE, new Error("refused"));
  await cmdAdd(w.deps, request("ADD", netConf(1, { logFile: LOG_FILE, logLevel: "error" })));
  assertAttached(w);
  const lines = w.logs.map((l) => JSON.parse(l) as LogRecord);
  assert.deepEqual(levelsAndMessages(lines), [
    ["warning", "cannot open log file; logging to stderr instead"],
  ]);
  assert.equal(lines[0]!.logFile, LOG_FILE);
});

Deno.test("cmdAdd() and cmdDel() with a logFile outside the log directory succeed and log to deps.log after one warning naming the rule", async () => {
  await using w = await world();
  // A common copy from sriov-cni's docs; the Go plugin ignores the key.
  const conf = netConf(1, { logFile: "/tmp/sriov.log" });
  await cmdAdd(w.deps, request("ADD", conf));
  assertAttached(w);
  const added = records(w.logs);
  const { time: _time, ...warning } = added[0]!;
  assert.deepEqual(warning, {
    level: "warning",
    msg: 'logFile "/tmp/sriov.log" is ignored: must be beneath "/var/log/ib-sriov/" or ' +
      "relative to it",
    command: "ADD",
    containerId: "ctr-a",
    netns: POD,
    ifname: "net1",
    deviceID: VFS[1]!.pci,
    rule: "log-file",
    details: "records go to stderr",
  });
  assert.deepEqual(levelsAndMessages(added.slice(1)), [["info", "attached"]]);
  assert.equal(w.logFiles.size, 0, "never opened");

  await cmdDel(w.deps, request("DEL", conf));
  const deleted = records(w.logs.slice(added.length), "DEL");
  assert.deepEqual(deleted.map((r) => [r.level, r.rule ?? null]), [
    ["warning", "log-file"],
    ["info", null],
  ]);
  assert.equal(w.logFiles.size, 0);
});

Deno.test("cmdAdd() with a relative logFile opens it beneath the log directory, as sriov-cni resolves it", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", netConf(1, { logFile: "sriov.log" })));
  assertAttached(w);
  // deps.openLog resolves the name beneath /var/log/ib-sriov (tests/unit/state/log_file_test.ts).
  assert.deepEqual([...w.logFiles.keys()], ["sriov.log"]);
  assert.deepEqual(levelsAndMessages(records(w.logFiles.get("sriov.log"))), [["info", "attached"]]);
  assert.deepEqual(w.logs, []);
});

Deno.test("cmdAdd() with an unknown logLevel logs at info after one warning, whatever the level", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", netConf(1, { logFile: LOG_FILE, logLevel: "panic" })));
  assertAttached(w);
  const lines = records(w.logFiles.get(LOG_FILE));
  assert.deepEqual(lines.map((r) => [r.level, r.msg, r.rule ?? null, r.details ?? null]), [
    [
      "warning",
      'logLevel "panic" is ignored: must be one of error, warning, info, debug',
      "log-level",
      "records are written at info",
    ],
    ["info", "attached", null, null],
  ]);
  assert.deepEqual(w.logs, []);
});
