import assert from "node:assert/strict";
import { runTool, USAGE } from "../../../lib/tool/main.ts";
import { testIo } from "./_tool_io.ts";

Deno.test("runTool() --version prints the version line", async () => {
  for (const flag of ["--version", "-v"]) {
    const t = testIo();
    assert.equal(await runTool([flag], t.io), 0);
    assert.equal(t.stdout(), "ib-sriov CNI plugin v0.0.0-test\n");
  }
});

Deno.test("runTool() help prints the usage of every command", async () => {
  const t = testIo();
  assert.equal(await runTool(["help"], t.io), 0);
  assert.equal(t.stdout(), USAGE);
  for (const command of ["validate", "dry-run", "doctor", "--version", "help"]) {
    assert.ok(USAGE.includes(`ib-sriov ${command}`), command);
  }
});

Deno.test("runTool() without a command prints the version and usage to stderr and exits 2", async () => {
  const t = testIo();
  assert.equal(await runTool([], t.io), 2);
  assert.equal(t.stdout(), "");
  assert.equal(t.stderr(), `ib-sriov CNI plugin v0.0.0-test\n\n${USAGE}`);
});

Deno.test("runTool() names an unknown command and exits 2", async () => {
  const t = testIo();
  assert.equal(await runTool(["frobnicate"], t.io), 2);
  assert.ok(t.stderr().startsWith('ib-sriov: unknown command "frobnicate"\n'));
});

Deno.test("runTool() lets an unexpected error through: it is a bug, not a usage error", async () => {
  const t = testIo({
    readFile: () => Promise.resolve(new TextEncoder().encode("{}")),
    validateConfig: () => {
      throw new RangeError("validator out of memory");
    },
  });
  await assert.rejects(runTool(["validate", "x.json"], t.io), RangeError);
});
