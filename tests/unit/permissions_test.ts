import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { PERMISSION_FLAGS, shebangLine } from "../../tools/permissions.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const TOOL_FIXTURES = fileURLToPath(new URL("../fixtures/tool/", import.meta.url));

Deno.test("shebangLine() fits in the 255 bytes Linux reads of a #! line", () => {
  const bytes = new TextEncoder().encode(shebangLine()).length;
  assert.ok(bytes <= 255, `shebang is ${bytes} bytes`);
  assert.ok(shebangLine().endsWith(PERMISSION_FLAGS.join(" ")));
});

Deno.test("PERMISSION_FLAGS scope file access to the state directories", () => {
  assert.ok(PERMISSION_FLAGS.includes("--allow-write=/var/lib/cni/ib-sriov,/var/run/cni/ib-sriov"));
  assert.ok(
    !PERMISSION_FLAGS.some((f) => f === "--allow-all" || f === "-A" || f === "--allow-write"),
  );
});

Deno.test("PERMISSION_FLAGS grant the environment of CNI_* only: no PATH (an IPAM plugin inherits it), no LOG_* for the tool", () => {
  assert.deepEqual(
    PERMISSION_FLAGS.filter((f) => f.startsWith("--allow-env")),
    ["--allow-env=CNI_*"],
  );
});

Deno.test("ib-sriov validate parses YAML NADs under PERMISSION_FLAGS, with LOG_TOKENS and LOG_STREAM set but not granted", async () => {
  // The yaml package reads both on every parse; a denied read would throw NotCapable inside it.
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--quiet",
      "--config",
      `${REPO}deno.json`,
      ...PERMISSION_FLAGS,
      `${REPO}cli.ts`,
      "validate",
      "nads.yaml",
    ],
    cwd: TOOL_FIXTURES,
    env: { LOG_TOKENS: "1", LOG_STREAM: "1" },
  }).output();
  const decoder = new TextDecoder();
  assert.deepEqual(
    {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    },
    {
      code: 1,
      stdout: 'nads.yaml (document 2): spec.config.guid: guid "02:00" is not a valid GUID: ' +
        "must be 8 colon-separated hex bytes (xx:xx:xx:xx:xx:xx:xx:xx)\n",
      stderr: "",
    },
  );
});
