import assert from "node:assert/strict";
import { runTool } from "../../../lib/tool/main.ts";
import {
  DOCUMENT_RULE,
  type Finding,
  formatFinding,
  validateBytes,
} from "../../../lib/tool/validate.ts";
import type { Violation } from "../../../lib/config/validate_config.ts";
import { validateConfigBytes, ValidatorRule } from "../../../lib/config/validate_config.ts";
import { BROKEN_YAML, fixture, loadNetConfValidator, testIo } from "./_tool_io.ts";

Deno.test("runTool() validate prints FILE: ok and exits 0 for valid configs of every form", async () => {
  const t = testIo();
  const status = await runTool(
    ["validate", "ib-net.json", "ib-net.conflist", "nad.json", "ib-net-full.json"],
    t.io,
  );
  assert.equal(
    t.stdout(),
    "ib-net.json: ok\nib-net.conflist: ok\nnad.json: ok\nib-net-full.json: ok\n",
  );
  assert.equal(t.stderr(), "");
  assert.equal(status, 0);
});

Deno.test("runTool() validate prints FILE: path: message per violation and exits 1", async () => {
  const t = testIo();
  const status = await runTool(["validate", "nads.yaml", "not-nad.yaml"], t.io);
  assert.equal(
    t.stdout(),
    [
      'nads.yaml (document 2): spec.config.guid: guid "02:00" is not a valid GUID: ' +
      "must be 8 colon-separated hex bytes (xx:xx:xx:xx:xx:xx:xx:xx)",
      'not-nad.yaml (document 1): not a NetworkAttachmentDefinition (kind "ConfigMap"); a CNI ' +
      "config must be JSON",
      'not-nad.yaml (document 2): spec.config: NetworkAttachmentDefinition "no-config" has no ' +
      "spec.config: Multus then reads the config from a file on each node, which this tool " +
      "cannot see",
      "",
    ].join("\n"),
  );
  assert.equal(status, 1);
});

Deno.test("runTool() validate prints a logFile it would ignore as a warning and exits 0", async () => {
  const t = testIo();
  const status = await runTool(["validate", "ib-logfile.json"], t.io);
  assert.equal(
    t.stdout(),
    'ib-logfile.json: warning: logFile: logFile "/tmp/sriov.log" is ignored: must be beneath ' +
      '"/var/log/ib-sriov/" or relative to it; records go to stderr\n',
  );
  assert.equal(status, 0);
  const json = testIo();
  assert.equal(await runTool(["validate", "--json", "ib-logfile.json", "ib-bad.json"], json.io), 1);
  assert.deepEqual(
    JSON.parse(json.stdout()).map((f: Finding) => [f.file, f.path, f.rule, f.severity]),
    [
      ["ib-logfile.json", "logFile", ValidatorRule.LogFile, "warning"],
      ["ib-bad.json", "guid", ValidatorRule.Guid, "error"],
      ["ib-bad.json", "ipam.type", ValidatorRule.IpamDhcp, "error"],
    ],
  );
});

Deno.test("runTool() validate --json prints file, path, rule, offset and message", async () => {
  const t = testIo({
    validateConfig: (bytes) => [
      ...loadNetConfValidator(bytes),
      {
        rule: 9,
        ruleName: "guid",
        severity: "error",
        path: "guid",
        offset: 77,
        message: "fake finding",
      },
    ],
  });
  const status = await runTool(["validate", "--json", "ib-bad.json", "nad.json"], t.io);
  const out = JSON.parse(t.stdout());
  assert.deepEqual(out, [
    {
      file: "ib-bad.json",
      path: "",
      rule: 3,
      severity: "error",
      offset: 0,
      message: 'guid "02:00:00:00:00:00:00" is not a valid GUID: must be 8 colon-separated hex ' +
        "bytes (xx:xx:xx:xx:xx:xx:xx:xx)",
    },
    {
      file: "ib-bad.json",
      path: "guid",
      rule: 9,
      severity: "error",
      offset: 77,
      message: "fake finding",
    },
    {
      file: "nad.json",
      name: "ib-net",
      path: "spec.config.guid",
      rule: 9,
      severity: "error",
      offset: 77,
      message: "fake finding",
    },
  ]);
  assert.equal(status, 1);
});

Deno.test("runTool() validate --json gives the WASM validator's rule and byte offset", async () => {
  const t = testIo();
  assert.equal(await runTool(["validate", "--json", "ib-bad.json"], t.io), 1);
  const text = new TextDecoder().decode(Deno.readFileSync(fixture("ib-bad.json")));
  const out = JSON.parse(t.stdout());
  assert.deepEqual(
    out.map((f: { path: string; rule: number; offset: number }) => [f.path, f.rule, f.offset]),
    [
      ["guid", ValidatorRule.Guid, text.indexOf('"02:00:00:00:00:00:00"')],
      ["ipam.type", ValidatorRule.IpamDhcp, text.indexOf('"dhcp"')],
    ],
  );
});

Deno.test("runTool() validate exits 2 for an unreadable file and still checks the others", async () => {
  const t = testIo();
  const status = await runTool(["validate", "missing.json", "ib-bad.json"], t.io);
  assert.match(t.stderr(), /^missing\.json: cannot read: No such file or directory/);
  assert.match(t.stdout(), /^ib-bad\.json: guid: guid "02:00:00:00:00:00:00" is not a valid GUID/);
  assert.equal(status, 2);
});

Deno.test("runTool() validate without a file is a usage error", async () => {
  const t = testIo();
  assert.equal(await runTool(["validate", "--json"], t.io), 2);
  assert.equal(
    t.stderr(),
    'ib-sriov validate: validate: name at least one FILE\nRun "ib-sriov help" for usage.\n',
  );
});

Deno.test("validateBytes() passes the validator the spec.config string and prefixes its paths", () => {
  const seen: string[] = [];
  const validator = (bytes: Uint8Array): Violation[] => {
    seen.push(new TextDecoder().decode(bytes));
    return [
      { rule: 4, ruleName: "x", severity: "error", path: "ipam.type", offset: 3, message: "m1" },
      { rule: 4, ruleName: "x", severity: "error", path: "[0]", offset: 0, message: "m2" },
      { rule: 4, ruleName: "x", severity: "error", path: "", offset: 0, message: "m3" },
    ];
  };
  const nad = { kind: "NetworkAttachmentDefinition", spec: { config: '{"a": 1}' } };
  const found = validateBytes("n.json", new TextEncoder().encode(JSON.stringify(nad)), validator);
  assert.deepEqual(seen, ['{"a": 1}']);
  assert.deepEqual(found.map((f) => f.path), [
    "spec.config.ipam.type",
    "spec.config[0]",
    "spec.config",
  ]);
});

Deno.test("validateBytes() reports a file without documents", () => {
  const found = validateBytes("empty.yaml", new TextEncoder().encode("# nothing\n"), () => []);
  assert.deepEqual(found.map((f) => [f.rule, f.message]), [[
    DOCUMENT_RULE,
    "holds no document: expected a CNI config, a conflist or a NetworkAttachmentDefinition",
  ]]);
});

Deno.test("validateBytes() reports a YAML syntax error as a document finding", () => {
  const found = validateBytes("broken.yaml", new TextEncoder().encode(BROKEN_YAML), () => {
    throw new Error("the validator must not see a document without a config");
  });
  assert.equal(found.length, 1);
  assert.equal(found[0]!.rule, DOCUMENT_RULE);
  assert.match(found[0]!.message, /^not valid YAML: /);
});

Deno.test("runTool() validate answers ok for every NAD layout go-yaml accepts", async () => {
  const dir = "go_yaml";
  const files = [...Deno.readDirSync(fixture(dir))].map((e) => `${dir}/${e.name}`).filter((n) =>
    n.endsWith(".yaml")
  ).sort();
  assert.ok(files.includes(`${dir}/readme_single_quoted.yaml`));
  const t = testIo();
  const status = await runTool(["validate", ...files], t.io);
  assert.equal(t.stdout(), files.map((f) => `${f}: ok\n`).join(""));
  assert.equal(status, 0);
});

/** The real validator over one JSON document, as `validate` reports it. */
function findings(json: unknown): string[] {
  const bytes = new TextEncoder().encode(JSON.stringify(json));
  return validateBytes("f.json", bytes, validateConfigBytes).map((f) =>
    `${f.rule} ${formatFinding(f)}`
  );
}

Deno.test("validateBytes() reports a config whose type is not ib-sriov, naming the likely typo", () => {
  const base = { cniVersion: "1.0.0", name: "ib-net", pkey: "0x8001" };
  assert.deepEqual(findings({ ...base, type: "ib-srio" }), [
    '0 f.json: type: "ib-srio" is not "ib-sriov": the config holds no ib-sriov plugin (a typo ' +
    'of "ib-sriov"?)',
  ]);
  assert.deepEqual(findings({ ...base, type: "IB_SRIOV" }), [
    '0 f.json: type: "IB_SRIOV" is not "ib-sriov": the config holds no ib-sriov plugin (a typo ' +
    'of "ib-sriov"?)',
  ]);
  assert.deepEqual(findings({ ...base, type: "sriov" }), [
    '0 f.json: type: "sriov" is not "ib-sriov": the config holds no ib-sriov plugin',
  ]);
  assert.deepEqual(findings({ ...base, type: "ib-sriov" }), []);
});

Deno.test("validateBytes() reports a conflist without an ib-sriov plugin, naming the likely typo", () => {
  const base = { cniVersion: "1.0.0", name: "ib-chain" };
  assert.deepEqual(
    findings({ ...base, plugins: [{ type: "tuning" }, { type: "ibsriov", pkey: "0x8001" }] }),
    [
      '0 f.json: plugins[1].type: "ibsriov" is not "ib-sriov": the conflist holds no ib-sriov ' +
      'plugin (a typo of "ib-sriov"?)',
    ],
  );
  assert.deepEqual(findings({ ...base, plugins: [{ type: "bridge" }, { type: "tuning" }] }), [
    '0 f.json: plugins: the conflist holds no plugin of type "ib-sriov" (types: "bridge", ' +
    '"tuning")',
  ]);
  const nad = {
    kind: "NetworkAttachmentDefinition",
    metadata: { name: "ib-net" },
    spec: { config: JSON.stringify({ ...base, plugins: [{ type: "ib-sriob" }] }) },
  };
  assert.deepEqual(findings(nad), [
    '0 f.json: spec.config.plugins[0].type: "ib-sriob" is not "ib-sriov": the conflist holds no ' +
    'ib-sriov plugin (a typo of "ib-sriov"?)',
  ]);
});

Deno.test("validateBytes() names the plugin index of a violation inside a conflist", () => {
  const conflist = {
    cniVersion: "1.0.0",
    name: "ib-chain",
    plugins: [{ type: "tuning" }, { type: "ib-sriov", pkey: "0x18001" }],
  };
  assert.deepEqual(findings(conflist), [
    `${ValidatorRule.Pkey} f.json: plugins[1].pkey: plugins[1].pkey "0x18001" is invalid: must ` +
    "be 0x followed by 1 to 4 hex digits",
  ]);
});
