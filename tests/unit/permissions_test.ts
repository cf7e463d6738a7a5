import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { DENO_CACHE_DIR, PERMISSION_FLAGS, shebangLine } from "../../tools/permissions.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const TOOL_FIXTURES = fileURLToPath(new URL("../fixtures/tool/", import.meta.url));

Deno.test("shebangLine() fits in the 255 bytes Linux reads of a #! line", () => {
  const bytes = new TextEncoder().encode(shebangLine()).length;
  assert.ok(bytes <= 255, `shebang is ${bytes} bytes`);
  assert.ok(shebangLine().endsWith(PERMISSION_FLAGS.join(" ")));
  // An installed runtime (ship's default path) still fits.
  const installed = new TextEncoder().encode(shebangLine("/opt/cni/bin/ib-sriov.d/deno")).length;
  assert.ok(installed <= 255, `installed shebang is ${installed} bytes`);
});

Deno.test("deno grants FFI and the CNI variables under PERMISSION_FLAGS, and no file, process or network access", async () => {
  const probe = `
    const q = (d) => Deno.permissions.querySync(d).state;
    console.log(JSON.stringify([
      q({ name: "read", path: "/var/lib/cni/ib-sriov/x" }), q({ name: "read", path: "/etc" }),
      q({ name: "write", path: "/var/run/cni/ib-sriov/x" }), q({ name: "write", path: "/tmp" }),
      q({ name: "env", variable: "CNI_PATH" }), q({ name: "env", variable: "HOME" }),
      q({ name: "ffi" }), q({ name: "run" }), q({ name: "net" }),
    ]));`;
  // `deno eval` grants everything: the probe runs as a script.
  const script = await Deno.makeTempFile({ suffix: ".js" });
  await Deno.writeTextFile(script, probe);
  const grants = async (flags: readonly string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-prompt", ...flags, script],
      stdout: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout).trim();
  };
  assert.equal(
    await grants(PERMISSION_FLAGS),
    '["prompt","prompt","prompt","prompt","granted","prompt","granted","prompt","prompt"]',
  );
  await Deno.remove(script);
});

Deno.test("shebangLine() runs the given Deno with DENO_DIR set to the plugin's own cache dir", () => {
  assert.ok(
    shebangLine("/opt/cni/bin/ib-sriov.d/deno").startsWith(
      "#!/usr/bin/env -S DENO_DIR=/var/cache/ib-sriov /opt/cni/bin/ib-sriov.d/deno run ",
    ),
  );
  assert.ok(shebangLine().startsWith(`#!/usr/bin/env -S DENO_DIR=${DENO_CACHE_DIR} deno run `));
});

Deno.test("PERMISSION_FLAGS grant no file access: every file is reached through libc", () => {
  assert.ok(
    !PERMISSION_FLAGS.some((f) =>
      f === "--allow-all" || f === "-A" || /^--allow-(read|write)|^-[RW]/.test(f)
    ),
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
