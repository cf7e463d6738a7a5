/**
 * `logFile` in the plugin process itself (the bundle, `make bundle` first), with the bundle's
 * scoped permissions: records reach the file through libc, stdout carries the result alone.
 * The simulation bind-mounts its own dir over `/var/log/ib-sriov`. Root only.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LOG_DIR } from "../../lib/config/limits.ts";
import { createSimulation, settled, simConfig } from "./sim.ts";

Deno.test("plugin ADD and DEL with logFile append their records to it (0600) and print only the result", async () => {
  await using sim = await createSimulation();
  {
    const logFile = join(sim.logDir, "ib-sriov.log");
    const config = simConfig(sim, { logFile: `${LOG_DIR}/ib-sriov.log`, logLevel: "debug" });
    const add = await sim.runPlugin({ command: "ADD", config });
    assert.equal(add.code, 0, `ADD failed: ${add.stdout}${add.stderr}`);
    // stdout is the result JSON and nothing else; nothing was logged to stderr either.
    const result = JSON.parse(add.stdout) as { cniVersion: string; interfaces: unknown[] };
    assert.equal(result.cniVersion, "1.0.0");
    assert.equal(add.stderr, "");
    const del = await sim.runPlugin({ command: "DEL", config });
    assert.equal(del.code, 0, `DEL failed: ${del.stdout}${del.stderr}`);
    assert.equal(del.stdout, "");
    assert.equal(del.stderr, "");

    assert.equal((await Deno.stat(logFile)).mode! & 0o777, 0o600);
    const text = await Deno.readTextFile(logFile);
    assert.ok(text.endsWith("\n"));
    const records = text.slice(0, -1).split("\n").map((line) =>
      JSON.parse(line) as Record<string, unknown>
    );
    for (const record of records) {
      assert.equal(record.containerId, sim.containerId);
      assert.equal(record.ifname, "net1");
      assert.equal(record.deviceID, sim.vfs[0]!.pci);
      assert.equal(typeof record.netns, "string");
      assert.notEqual(record.netns, "");
    }
    const commands = records.map((r) => r.command);
    assert.ok(records.some((r) => r.command === "ADD" && r.msg === "attached"), text);
    assert.ok(records.some((r) => r.command === "DEL" && r.msg === "detached"), text);
    // Appended: ADD's records come first, DEL's after them.
    assert.deepEqual(commands, [...commands].sort());
    // At debug, each command ends with its timeline: the kernel requests and IPAM.
    for (const command of ["ADD", "DEL"]) {
      const own = records.filter((r) => r.command === command);
      const last = own.at(-1)!;
      assert.equal(last.msg, "timings", text);
      const phases = (last.timings as { phase: string }[]).map((e) => e.phase);
      assert.equal(phases[0], "bundle evaluated");
      assert.equal(phases.at(-1), "command done");
      for (const phase of ["config validated", "netlink.moveLink", "ipam.exec", "store.lock"]) {
        assert.ok(phases.includes(phase), `${command} timeline lacks ${phase}: ${phases}`);
      }
    }
  }
});

Deno.test("plugin ADD with a logFile in a missing directory succeeds and warns on stderr", async () => {
  await using sim = await createSimulation();
  const dir = sim.logDir;
  {
    const logFile = `${LOG_DIR}/missing/ib-sriov.log`;
    const config = simConfig(sim, { logFile });
    const add = await sim.runPlugin({ command: "ADD", config });
    assert.equal(add.code, 0, `ADD failed: ${add.stdout}${add.stderr}`);
    assert.equal((JSON.parse(add.stdout) as { cniVersion: string }).cniVersion, "1.0.0");
    const records = add.stderr.trimEnd().split("\n").map((line) =>
      JSON.parse(line) as Record<string, unknown>
    );
    assert.equal(records[0]!.level, "warning");
    assert.equal(records[0]!.msg, "cannot open log file; logging to stderr instead");
    assert.equal(records[0]!.logFile, logFile);
    assert.equal(records[0]!.rule, "missing");
    assert.equal(
      records[0]!.error,
      `Cannot open log file "${logFile}": No such file or directory`,
    );
    assert.ok(records.some((r) => r.msg === "attached"), add.stderr);
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no directory created");
    const del = await sim.runPlugin({ command: "DEL", config });
    assert.equal(del.code, 0, `DEL failed: ${del.stdout}${del.stderr}`);
  }
});

Deno.test("plugin ADD that fails leaves one error record in logFile and the error object alone on stdout", async () => {
  await using sim = await createSimulation();
  const absent = "0000:ff:1f.7";
  const config = simConfig(sim, { logFile: `${LOG_DIR}/ib-sriov.log`, deviceID: absent });
  const add = await sim.runPlugin({ command: "ADD", config });
  assert.equal(add.code, 1, add.stdout);
  const answer = JSON.parse(add.stdout) as { code: number; msg: string; details?: string };
  assert.equal(add.stderr, "");
  const text = await Deno.readTextFile(join(sim.logDir, "ib-sriov.log"));
  const records = text.trimEnd().split("\n").map((line) =>
    JSON.parse(line) as Record<string, unknown>
  );
  const failures = records.filter((r) => r.level === "error");
  assert.equal(failures.length, 1, text);
  const { time: _time, ...failure } = failures[0]!;
  assert.deepEqual(failure, {
    level: "error",
    msg: "ADD failed",
    command: "ADD",
    containerId: sim.containerId,
    netns: sim.podNetnsPath,
    ifname: "net1",
    deviceID: absent,
    code: answer.code,
    error: answer.msg,
    details: answer.details ?? "",
    rollback: "complete",
  });
});

Deno.test("plugin ADD and DEL with a logFile copied from sriov-cni's docs succeed, warn once on stderr and write nothing there", async () => {
  await using sim = await createSimulation();
  const before = settled(await sim.snapshot());
  // An absolute path outside the log directory, as sriov-cni's `"logFile": "/tmp/sriov.log"`:
  // in the simulation's own dir, so that the test can tell that nothing is written there.
  const elsewhere = join(sim.dir, "sriov.log");
  const config = simConfig(sim, { logFile: elsewhere });
  for (const [command, last] of [["ADD", "attached"], ["DEL", "detached"]] as const) {
    const run = await sim.runPlugin({ command, config });
    assert.equal(run.code, 0, `${command} failed: ${run.stdout}${run.stderr}`);
    const records = run.stderr.trimEnd().split("\n").map((line) =>
      JSON.parse(line) as Record<string, unknown>
    );
    const { time: _time, ...warning } = records[0]!;
    assert.deepEqual(warning, {
      level: "warning",
      msg: `logFile "${elsewhere}" is ignored: must be beneath "${LOG_DIR}/" or relative to it`,
      command,
      containerId: sim.containerId,
      netns: sim.podNetnsPath,
      ifname: "net1",
      deviceID: sim.vfs[0]!.pci,
      rule: "log-file",
      details: "records go to stderr",
    });
    assert.equal(records.filter((r) => r.level === "warning").length, 1, run.stderr);
    assert.equal(records.at(-1)!.msg, last);
  }
  await assert.rejects(Deno.lstat(elsewhere), Deno.errors.NotFound);
  assert.deepEqual([...Deno.readDirSync(sim.logDir)], []);
  assert.deepEqual(settled(await sim.snapshot()), before);
});

Deno.test("plugin ADD with a relative logFile appends to it beneath the log directory, as sriov-cni resolves it", async () => {
  await using sim = await createSimulation();
  const config = simConfig(sim, { logFile: "sriov.log" });
  const add = await sim.runPlugin({ command: "ADD", config });
  assert.equal(add.code, 0, `ADD failed: ${add.stdout}${add.stderr}`);
  assert.equal(add.stderr, "");
  const text = await Deno.readTextFile(join(sim.logDir, "sriov.log"));
  assert.deepEqual(text.trimEnd().split("\n").map((l) => JSON.parse(l).msg), ["attached"]);
  const del = await sim.runPlugin({ command: "DEL", config });
  assert.equal(del.code, 0, `DEL failed: ${del.stdout}${del.stderr}`);
});
