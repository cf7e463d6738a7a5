/**
 * Failed commands leave one error record, through `dispatch()` and the real handlers over the
 * in-memory node: to `logFile` once the handler opened it, else to stderr; never on stdout; and a
 * `logFile` whose path breaks a rule fails ADD with code 7 before any kernel change.
 */
import assert from "node:assert/strict";
import { dispatch } from "../../lib/cni/dispatch.ts";
import { createHandlers } from "../../lib/plugin/handlers.ts";
import { pathError } from "../../lib/state/state_error.ts";
import { netConf, POD, VFS, type World, world } from "./world.ts";

const LOG_FILE = "/var/log/ib-sriov/ib-sriov.log";
const ENV = {
  CNI_CONTAINERID: "ctr-a",
  CNI_NETNS: POD,
  CNI_IFNAME: "net1",
  CNI_PATH: "/opt/cni/bin",
};

/** The fields every failure record of an ADD starts with. */
const ADD_FAILED = { level: "error", msg: "ADD failed", command: "ADD" };

interface Run {
  status: number;
  stdout: string;
  stderr: string[];
}

async function run(
  w: World,
  command: string,
  config: Record<string, unknown>,
  env: Record<string, string> = ENV,
): Promise<Run> {
  let stdout = "";
  const stderr: string[] = [];
  const vars: Record<string, string> = { ...env, CNI_COMMAND: command };
  const status = await dispatch(
    {
      getenv: (name) => vars[name],
      readStdin: () => Promise.resolve(new TextEncoder().encode(JSON.stringify(config))),
      stdout: (text) => void (stdout += text),
      stderr: (text) => void stderr.push(text),
    },
    createHandlers(() => w.deps),
    "about",
  );
  return { status, stdout, stderr };
}

function parse(lines: readonly string[] | undefined): Record<string, unknown>[] {
  return (lines ?? []).map((line) => {
    assert.ok(line.endsWith("\n") && !line.slice(0, -1).includes("\n"), `not one line: ${line}`);
    return JSON.parse(line) as Record<string, unknown>;
  });
}

function errors(lines: readonly string[] | undefined): Record<string, unknown>[] {
  return parse(lines).filter((r) => r.level === "error");
}

Deno.test("a failed ADD writes one error record to logFile with code, message, details and rollback, whatever logLevel", async () => {
  await using w = await world();
  const before = w.kernel.snapshot();
  w.ipam.failAdd = { code: 11, msg: 'no IP addresses available in range set "$(reboot)"\n' };
  const conf = netConf(1, { logFile: LOG_FILE, logLevel: "error" });
  const out = await run(w, "ADD", conf);
  assert.equal(out.status, 1);
  const answer = JSON.parse(out.stdout) as { code: number; msg: string };
  assert.equal(answer.code, 11);
  assert.deepEqual(out.stderr, []);
  assert.deepEqual(w.logs, []);
  const records = parse(w.logFiles.get(LOG_FILE));
  assert.equal(records.length, 1);
  const { time: _time, ...record } = records[0]!;
  assert.deepEqual(record, {
    ...ADD_FAILED,
    containerId: "ctr-a",
    netns: POD,
    ifname: "net1",
    deviceID: VFS[1]!.pci,
    code: 11,
    error: answer.msg,
    details: "",
    rollback: "complete",
  });
  assert.deepEqual(w.kernel.snapshot(), before);
});

Deno.test("a failed ADD whose undo fails too says so in its one error record", async () => {
  await using w = await world();
  let steps: number;
  {
    await using probe = await world();
    await run(probe, "ADD", netConf(1));
    steps = probe.faults.count;
  }
  // Fail the last step, and the first undo after it.
  w.faults.failAt = [steps, steps + 1];
  const out = await run(w, "ADD", netConf(1, { logFile: LOG_FILE }));
  assert.equal(out.status, 1);
  const answer = JSON.parse(out.stdout) as { code: number; msg: string; details: string };
  const failures = parse(w.logFiles.get(LOG_FILE)).filter((r) => r.msg === "ADD failed");
  assert.equal(failures.length, 1);
  const failure = failures[0]!;
  assert.equal(failure.code, answer.code);
  assert.equal(failure.error, answer.msg);
  assert.equal(failure.details, answer.details);
  assert.match(String(failure.rollback), /^incomplete: .+; DEL will retry$/);
  assert.ok(answer.details.includes(String(failure.rollback).slice("incomplete: ".length)));
});

Deno.test("a config refused by the validator gets one error record on stderr, none on stdout", async () => {
  await using w = await world();
  const out = await run(w, "ADD", netConf(1, { logFile: LOG_FILE, link_state: "up\n" }));
  assert.equal(out.status, 1);
  const answer = JSON.parse(out.stdout) as { code: number; msg: string };
  assert.equal(answer.code, 7);
  const records = errors(out.stderr);
  assert.equal(records.length, 1);
  const { time: _time, ...record } = records[0]!;
  assert.deepEqual(record, {
    ...ADD_FAILED,
    code: 7,
    error: answer.msg,
    details: "",
    rollback: "none",
  });
  assert.equal(w.logFiles.size, 0);
});

Deno.test("an environment error gets one error record on stderr naming the command", async () => {
  await using w = await world();
  const out = await run(w, "DEL", netConf(1), { ...ENV, CNI_IFNAME: "" });
  assert.equal(out.status, 1);
  const answer = JSON.parse(out.stdout) as { code: number; msg: string };
  const records = errors(out.stderr);
  assert.deepEqual(records.map((r) => [r.msg, r.command, r.code, r.error]), [
    ["DEL failed", "DEL", answer.code, answer.msg],
  ]);
});

Deno.test("ADD with a logFile whose path breaks a rule succeeds and logs to stderr after one warning naming the rule", async () => {
  await using w = await world();
  const link = "/var/log/ib-sriov/link.log";
  w.logFileErrors.set(
    link,
    pathError("symlink", link, "open", "a component of the path is a symbolic link"),
  );
  const out = await run(w, "ADD", netConf(1, { logFile: link }));
  assert.equal(out.status, 0, out.stdout);
  assert.equal(JSON.parse(out.stdout).interfaces[0].name, "net1");
  assert.deepEqual(out.stderr, []);
  const { time: _time, ...warning } = parse(w.logs)[0]!;
  assert.deepEqual(warning, {
    level: "warning",
    msg: "cannot open log file; logging to stderr instead",
    command: "ADD",
    containerId: ENV.CNI_CONTAINERID,
    netns: ENV.CNI_NETNS,
    ifname: ENV.CNI_IFNAME,
    deviceID: VFS[1]!.pci,
    logFile: link,
    rule: "symlink",
    error: `Cannot open "${link}": a component of the path is a symbolic link`,
  });
  assert.deepEqual(parse(w.logs).slice(1).map((r) => [r.level, r.msg]), [["info", "attached"]]);
  assert.equal(w.logFiles.size, 0);
});

Deno.test("DEL with a logFile whose path breaks a rule succeeds and logs to stderr after one warning", async () => {
  await using w = await world();
  const link = "/var/log/ib-sriov/link.log";
  assert.equal((await run(w, "ADD", netConf(1))).status, 0);
  w.logFileErrors.set(
    link,
    pathError("symlink", link, "open", "a component of the path is a symbolic link"),
  );
  const out = await run(w, "DEL", netConf(1, { logFile: link }));
  assert.equal(out.status, 0);
  assert.equal(out.stdout, "");
  const warnings = parse(w.logs).filter((r) => r.level === "warning");
  assert.deepEqual(warnings.map((r) => [r.msg, r.logFile, r.rule, r.error]), [[
    "cannot open log file; logging to stderr instead",
    link,
    "symlink",
    `Cannot open "${link}": a component of the path is a symbolic link`,
  ]]);
  assert.deepEqual(w.stateFiles(), []);
});
