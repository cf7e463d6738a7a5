import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CniRequest, dispatch } from "../../../lib/cni/dispatch.ts";
import { MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH } from "../../../lib/config/limits.ts";
import {
  validateConfigBytes,
  type ValidateOptions,
  ValidatorRule,
  type Violation,
  violationError,
} from "../../../lib/config/validate_config.ts";
import { SUPPORTED_VERSIONS } from "../../../lib/cni/versions.ts";

const WASM = join(dirname(fileURLToPath(import.meta.url)), "../../../lib/config/validator.wasm");
const encode = (text: string) => new TextEncoder().encode(text);

function check(text: string | Uint8Array, options: ValidateOptions = {}): Violation[] {
  return validateConfigBytes(typeof text === "string" ? encode(text) : text, options);
}

/** Asserts exactly one violation, with its rule, path and offset; returns its message. */
function one(
  text: string | Uint8Array,
  rule: number,
  path: string,
  offset: number,
  options: ValidateOptions = { pluginConfig: true },
): string {
  const found = check(text, options);
  assert.deepEqual(
    found.map(({ rule, path, offset }) => ({ rule, path, offset })),
    [{ rule, path, offset }],
    JSON.stringify(found),
  );
  return found[0]!.message;
}

/** A plugin config: `{"name":"n",` + `fields` + `}`, with the offset of `marker` in it. */
function conf(fields: string): string {
  return `{"name":"n","cniVersion":"1.0.0",${fields}}`;
}

function at(text: string, marker: string): number {
  const i = text.indexOf(marker);
  assert.ok(i >= 0, `${marker} in ${text}`);
  return i;
}

Deno.test("validator.wasm imports nothing and exports the documented ABI", async () => {
  const module = new WebAssembly.Module(await Deno.readFile(WASM));
  assert.deepEqual(WebAssembly.Module.imports(module), []);
  assert.deepEqual(
    WebAssembly.Module.exports(module).map((e) => `${e.kind} ${e.name}`).sort(),
    [
      "function inputBuffer",
      "function outputBuffer",
      "function outputLength",
      "function validate",
      "memory memory",
    ],
  );
});

Deno.test("validateConfigBytes() accepts a full valid config and the bounds match the plugin's", () => {
  const full = JSON.stringify({
    cniVersion: "0.3.1",
    name: "ib-net_1.a-b",
    type: "ib-sriov",
    deviceID: "0000:AF:06.1",
    guid: "02:00:00:00:00:00:00:0A",
    pkey: "0x8001",
    link_state: "enable",
    rdmaIsolation: true,
    ibKubernetesEnabled: false,
    vfioPciMode: false,
    ipam: { type: "host-local", subnet: "10.56.217.0/24" },
    dns: { nameservers: ["10.0.0.1"] },
    capabilities: { infinibandGUID: true, ips: false },
    runtimeConfig: { infinibandGUID: "ff:ff:ff:ff:ff:ff:ff:ff", ips: ["10.0.0.2/24"] },
    args: { cni: { guid: "00:11:22:33:44:55:66:77", "mellanox.infiniband.app": "x", y: [1] } },
    prevResult: { interfaces: [] },
    logLevel: "debug",
    logFile: "/var/log/ib-sriov/ib.log",
  });
  assert.deepEqual(check(full, { pluginConfig: true, requireDeviceId: true }), []);
  for (const version of SUPPORTED_VERSIONS) {
    assert.deepEqual(check(`{"name":"n","cniVersion":"${version}"}`), []);
  }
  assert.deepEqual(check('{"name":"n","cniVersion":"","cniVersions":["9.9","1.0.0"]}'), []);
});

Deno.test("validateConfigBytes() rule 1 utf8: the offset of the first invalid sequence", () => {
  const bytes = new Uint8Array([...encode('{"name":"'), 0xed, 0xa0, 0x80, ...encode('"}')]);
  assert.equal(
    one(bytes, ValidatorRule.Utf8, "", 9),
    "error decoding network config: invalid UTF-8 at byte 9",
  );
  one(new Uint8Array([0x7b, 0xc0, 0xaf, 0x7d]), ValidatorRule.Utf8, "", 1); // overlong "/"
  one(new Uint8Array([0x7b, 0xf4, 0x90, 0x80, 0x80]), ValidatorRule.Utf8, "", 1); // > U+10FFFF
  one(new Uint8Array([0x7b, 0x22, 0xe2, 0x82]), ValidatorRule.Utf8, "", 2); // truncated
});

Deno.test("validateConfigBytes() rule 2 json-syntax: the offset of the unexpected byte", () => {
  assert.equal(
    one('{"name": "mynet" "type": "ib-sriov"}', ValidatorRule.JsonSyntax, "", 17),
    'error decoding network config: unexpected "\\"" at byte 17 (line 1, column 18)',
  );
  assert.equal(
    one('{"name":', ValidatorRule.JsonSyntax, "", 8),
    "error decoding network config: unexpected end of JSON input at byte 8",
  );
  one("", ValidatorRule.JsonSyntax, "", 0);
  one('{"name":"n",}', ValidatorRule.JsonSyntax, "", 12);
  one('{"name":"a\nb"}', ValidatorRule.JsonSyntax, "", 10);
  one('{"name":"\\x"}', ValidatorRule.JsonSyntax, "", 10);
  one('{"name":"n","a":01}', ValidatorRule.JsonSyntax, "", 17);
  one('{"name":"n","a":tru}', ValidatorRule.JsonSyntax, "", 19);
  one('{"name":"n"} {}', ValidatorRule.JsonSyntax, "", 13);
  one('\ufeff\ufeff{"name":"n"}', ValidatorRule.JsonSyntax, "", 3);
  assert.deepEqual(check('\ufeff {"name":"n"}\n'), []);
});

Deno.test("validateConfigBytes() rule 3 json-size: more than 4 MiB is not read", () => {
  const big = new Uint8Array(MAX_CONFIG_BYTES + 1);
  assert.equal(
    one(big, ValidatorRule.JsonSize, "", MAX_CONFIG_BYTES),
    `config is ${MAX_CONFIG_BYTES + 1} bytes, more than ${MAX_CONFIG_BYTES}`,
  );
  // Exactly at the limit is read: a valid config padded with spaces.
  const padded = new Uint8Array(MAX_CONFIG_BYTES).fill(0x20);
  padded.set(encode('{"name":"n"}'));
  assert.deepEqual(check(padded), []);
});

Deno.test("validateConfigBytes() rule 4 json-depth: the offset of the bracket too deep", () => {
  const ok = `{"name":"n","x":${"[".repeat(MAX_CONFIG_DEPTH - 1)}${
    "]".repeat(MAX_CONFIG_DEPTH - 1)
  }}`;
  assert.deepEqual(check(ok), []);
  const deep = `{"name":"n","x":${"[".repeat(MAX_CONFIG_DEPTH)}${"]".repeat(MAX_CONFIG_DEPTH)}}`;
  assert.match(
    one(deep, ValidatorRule.JsonDepth, "", 16 + MAX_CONFIG_DEPTH - 1),
    /^error decoding network config: nested deeper than 128 levels at byte 143 /,
  );
  one("[".repeat(100_000), ValidatorRule.JsonDepth, "", MAX_CONFIG_DEPTH);
});

Deno.test("validateConfigBytes() rule 5 not-object: the top-level value", () => {
  assert.equal(
    one(" [1]", ValidatorRule.NotObject, "", 1),
    "error decoding network config: expected a JSON object, got [1]",
  );
  one("null", ValidatorRule.NotObject, "", 0);
  one('"x"', ValidatorRule.NotObject, "", 0);
});

Deno.test("validateConfigBytes() rule 6 name: missing, empty, mistyped or not a network name", () => {
  assert.equal(
    one('{"cniVersion":"1.0.0"}', ValidatorRule.Name, "name", 0),
    "missing network name",
  );
  assert.equal(one('{"name":""}', ValidatorRule.Name, "name", 8), "missing network name");
  assert.equal(
    one('{"name":"a b"}', ValidatorRule.Name, "name", 8),
    'invalid characters found in network name "a b"',
  );
  one('{"name":"-a"}', ValidatorRule.Name, "name", 8);
  one('{"name":"é"}', ValidatorRule.Name, "name", 8);
  one('{"name":7}', ValidatorRule.Name, "name", 8);
  // Escapes are decoded, and the last of two keys wins, as JSON.parse does.
  assert.deepEqual(check('{"na\\u006de":"a\\u0062"}'), []);
  assert.deepEqual(check('{"name":"a b","name":"ab"}'), []);
  one('{"name":"ab","name":"a b"}', ValidatorRule.Name, "name", 20);
});

Deno.test("validateConfigBytes() rule 7 cni-version-type and rule 8 cni-version", () => {
  assert.equal(
    one('{"name":"n","cniVersion":1}', ValidatorRule.VersionType, "cniVersion", 25),
    "cniVersion must be a string, got 1",
  );
  assert.equal(
    one('{"name":"n","cniVersions":["1.0.0",1]}', ValidatorRule.VersionType, "cniVersions", 26),
    'cniVersions must be an array of strings, got ["1.0.0",1]',
  );
  assert.equal(
    one('{"name":"n","cniVersion":"9.9.9"}', ValidatorRule.Version, "cniVersion", 25),
    'incompatible CNI versions: cniVersion "9.9.9" is not supported',
  );
  one('{"name":"n","cniVersion":"v1.0.0"}', ValidatorRule.Version, "cniVersion", 25);
  assert.equal(
    one('{"name":"n","cniVersions":["2.0.0"]}', ValidatorRule.Version, "cniVersions", 26),
    'incompatible CNI versions: none of cniVersions ["2.0.0"] is supported',
  );
  // cniVersion wins over cniVersions, which is still type-checked.
  assert.deepEqual(check('{"name":"n","cniVersion":"1.0.0","cniVersions":["2.0.0"]}'), []);
  one(
    '{"name":"n","cniVersion":"1.0.0","cniVersions":"1"}',
    ValidatorRule.VersionType,
    "cniVersions",
    47,
  );
});

Deno.test("validateConfigBytes() rule 9 plugins and rule 10 type in a conflist", () => {
  const list = (plugins: string) => `{"name":"n","cniVersion":"1.0.0","plugins":${plugins}}`;
  assert.deepEqual(check(list('[{"type":"ib-sriov"},{"type":"tuning","guid":1}]')), []);
  assert.equal(
    one(list("{}"), ValidatorRule.Plugins, "plugins", 43, {}),
    "plugins must be an array, got object {}",
  );
  assert.equal(
    one(list("[]"), ValidatorRule.Plugins, "plugins", 43, {}),
    "plugins must not be empty",
  );
  assert.equal(
    one(list('[{"type":"x"},3]'), ValidatorRule.Plugins, "plugins[1]", 57, {}),
    "plugins[1] must be an object, got number 3",
  );
  assert.equal(
    one(list("[{}]"), ValidatorRule.Type, "plugins[0].type", 44, {}),
    "plugins[0].type is required: must be a string",
  );
  one(list('[{"type":""}]'), ValidatorRule.Type, "plugins[0].type", 52, {});
  one(list('[{"type":1}]'), ValidatorRule.Type, "plugins[0].type", 52, {});
  // A plugin config's type is optional and may be any string; a conflist key is just a key.
  assert.equal(
    one('{"name":"n","type":1}', ValidatorRule.Type, "type", 19),
    "type must be a string, got number 1",
  );
  assert.deepEqual(check('{"name":"n","type":"x","plugins":3}', { pluginConfig: true }), []);
});

Deno.test("validateConfigBytes() checks the ib-sriov entries of a conflist under their path", () => {
  const text =
    '{"name":"n","cniVersion":"1.0.0","plugins":[{"type":"tuning","guid":1},{"type":"ib-sriov","guid":"x","name":"a b","cniVersion":"9"}]}';
  assert.equal(
    one(text, ValidatorRule.Guid, "plugins[1].guid", at(text, '"x"'), {}),
    'plugins[1].guid "x" is not a valid GUID: must be 8 colon-separated hex bytes (xx:xx:xx:xx:xx:xx:xx:xx)',
  );
  const needsDevice = '{"name":"n","plugins":[{"type":"ib-sriov"}]}';
  assert.equal(
    one(needsDevice, ValidatorRule.DeviceIdRequired, "plugins[0].deviceID", 23, {
      requireDeviceId: true,
    }),
    "plugins[0].deviceID is required",
  );
});

Deno.test("validateConfigBytes() rule 11 device-id and rule 12 device-id-required", () => {
  for (
    const bad of ["03:02.0", "0000:03:02", "0000:03:20.0", "0000:03:02.8", "0000:3b:00.2 ", ""]
  ) {
    const text = conf(`"deviceID":${JSON.stringify(bad)}`);
    const msg = one(text, ValidatorRule.DeviceId, "deviceID", at(text, `"${bad}"`));
    assert.equal(
      msg,
      `deviceID ${
        JSON.stringify(bad)
      } is not a PCI address: expected DDDD:BB:DD.F, e.g. 0000:3b:00.2`,
    );
  }
  const typed = conf('"deviceID":5');
  assert.equal(
    one(typed, ValidatorRule.DeviceId, "deviceID", at(typed, "5}")),
    "deviceID must be a string, got number 5",
  );
  assert.deepEqual(check(conf('"deviceID":"0000:af:1F.7"')), []);
  const none = conf('"type":"ib-sriov"');
  assert.deepEqual(check(none, { pluginConfig: true }), []);
  assert.equal(
    one(none, ValidatorRule.DeviceIdRequired, "deviceID", 0, {
      pluginConfig: true,
      requireDeviceId: true,
    }),
    "deviceID is required",
  );
});

Deno.test("validateConfigBytes() rule 13 guid: every GUID field, each with its path", () => {
  const cases: [string, string, string][] = [
    ['"guid":"00:00:00:00:00:00:00:00"', "guid", "must not be all zeros"],
    [
      '"runtimeConfig":{"infinibandGUID":"11:22:33:44:55:66:77"}',
      "runtimeConfig.infinibandGUID",
      "must be 8 colon-separated hex bytes (xx:xx:xx:xx:xx:xx:xx:xx)",
    ],
    [
      '"args":{"cni":{"guid":"11-22-33-44-55-66-77-88"}}',
      "args.cni.guid",
      "must be 8 colon-separated hex bytes (xx:xx:xx:xx:xx:xx:xx:xx)",
    ],
  ];
  for (const [fields, path, why] of cases) {
    const text = conf(fields);
    const value = /"([0-9a-f:-]+)"}*$/.exec(fields)![1]!;
    assert.equal(
      one(text, ValidatorRule.Guid, path, at(text, `"${value}"`)),
      `${path} "${value}" is not a valid GUID: ${why}`,
    );
  }
  const typed = conf('"guid":null');
  assert.equal(
    one(typed, ValidatorRule.Guid, "guid", at(typed, "null")),
    "guid must be a string, got null",
  );
  assert.deepEqual(check(conf('"guid":"FF:ff:00:00:00:00:00:01"')), []);
});

Deno.test("validateConfigBytes() rule 14 pkey: form and the non-zero 15-bit key", () => {
  for (const good of ["0x1", "0x8001", "0x7FFF", "0xffff"]) {
    assert.deepEqual(check(conf(`"pkey":"${good}"`)), [], good);
  }
  for (const bad of ["0x", "0X1", "0x10000", "8001", "0xg"]) {
    const text = conf(`"pkey":"${bad}"`);
    assert.equal(
      one(text, ValidatorRule.Pkey, "pkey", at(text, `"${bad}"`)),
      `pkey "${bad}" is invalid: must be 0x followed by 1 to 4 hex digits`,
    );
  }
  const zero = conf('"pkey":"0x8000"');
  assert.equal(
    one(zero, ValidatorRule.Pkey, "pkey", at(zero, '"0x8000"')),
    'pkey "0x8000" is invalid: the 15-bit partition key must not be 0',
  );
  one(conf('"pkey":32769'), ValidatorRule.Pkey, "pkey", 40);
});

Deno.test("validateConfigBytes() rule 15 link-state and rule 23 log-level: the enums", () => {
  const text = conf('"link_state":"up"');
  assert.equal(
    one(text, ValidatorRule.LinkState, "link_state", at(text, '"up"')),
    'link_state "up" is invalid: must be one of auto, enable, disable',
  );
  one(conf('"link_state":"Enable"'), ValidatorRule.LinkState, "link_state", 46);
  one(conf('"link_state":true'), ValidatorRule.LinkState, "link_state", 46);
  const level = conf('"logLevel":"verbose"');
  assert.equal(
    one(level, ValidatorRule.LogLevel, "logLevel", 44),
    'logLevel "verbose" is ignored: must be one of error, warning, info, debug',
  );
  assert.equal(check(level)[0]!.severity, "warning");
  assert.deepEqual(check(conf('"link_state":"auto","logLevel":"warning"')), []);
});

Deno.test("validateConfigBytes() rule 16 boolean: the three flags", () => {
  for (const field of ["rdmaIsolation", "ibKubernetesEnabled", "vfioPciMode"]) {
    const text = conf(`"${field}":"true"`);
    assert.equal(
      one(text, ValidatorRule.Boolean, field, at(text, '"true"')),
      `${field} must be a boolean, got string "true"`,
    );
    one(conf(`"${field}":1`), ValidatorRule.Boolean, field, 36 + field.length);
  }
});

Deno.test("validateConfigBytes() rule 17 object: ipam, dns, prevResult, runtimeConfig, args, args.cni", () => {
  for (const field of ["ipam", "dns", "prevResult", "runtimeConfig", "args"]) {
    const text = conf(`"${field}":[]`);
    assert.equal(
      one(text, ValidatorRule.Object, field, at(text, "[]")),
      `${field} must be an object, got array []`,
    );
  }
  const cni = conf('"args":{"cni":"x"}');
  assert.equal(
    one(cni, ValidatorRule.Object, "args.cni", at(cni, '"x"')),
    'args.cni must be an object, got string "x"',
  );
});

Deno.test("validateConfigBytes() rules 18 ipam-type and 19 ipam-dhcp; an empty ipam means no IPAM", () => {
  // What the SR-IOV network operator renders for a network without IPAM, with any whitespace.
  for (const empty of ['"ipam":{}', '"ipam": { \n }']) {
    assert.deepEqual(check(conf(empty), { pluginConfig: true, requireDeviceId: false }), []);
  }
  // Keys but no type, or an empty type: the Go plugin would run without IPAM, the pod with no
  // address.
  const null_ = conf('"ipam":{"type":null}');
  one(null_, ValidatorRule.IpamType, "ipam.type", at(null_, "null"));
  const missing = conf('"ipam":{"subnet":"10.0.0.0/8"}');
  assert.equal(
    one(missing, ValidatorRule.IpamType, "ipam.type", at(missing, '{"subnet')),
    "ipam.type is required: must be a string",
  );
  const empty = conf('"ipam":{"type":""}');
  assert.equal(
    one(empty, ValidatorRule.IpamType, "ipam.type", at(empty, '""')),
    'ipam.type "" is invalid: name the IPAM plugin, e.g. host-local',
  );
  one(conf('"ipam":{"type":7}'), ValidatorRule.IpamType, "ipam.type", 48);
  const dhcp = conf('"ipam":{"type":"dhcp"}');
  assert.match(
    one(dhcp, ValidatorRule.IpamDhcp, "ipam.type", at(dhcp, '"dhcp"')),
    /^ipam\.type "dhcp" is not supported: /,
  );
  assert.deepEqual(check(conf('"ipam":{"type":"DHCP"}')), []);
});

Deno.test("validateConfigBytes() rule 20 vfio-with-rdma: both true", () => {
  const text = conf('"vfioPciMode":true,"rdmaIsolation":true');
  assert.equal(
    one(text, ValidatorRule.VfioWithRdma, "vfioPciMode", at(text, "true")),
    "vfioPciMode true with rdmaIsolation true is not supported: a vfio-pci device has no RDMA device to isolate",
  );
  assert.deepEqual(check(conf('"vfioPciMode":true,"rdmaIsolation":false')), []);
});

Deno.test("validateConfigBytes() rule 21 capabilities: an object of booleans, last key wins", () => {
  const typed = conf('"capabilities":[true]');
  assert.equal(
    one(typed, ValidatorRule.Capabilities, "capabilities", at(typed, "[true]")),
    "capabilities must be an object, got array [true]",
  );
  const text = conf('"capabilities":{"ips":1,"a b":"x","x\\n":2,"ok":true,"d":0,"d":false}');
  const found = check(text, { pluginConfig: true });
  assert.deepEqual(found.map((v) => [v.rule, v.path, v.offset]), [
    [ValidatorRule.Capabilities, "capabilities.ips", at(text, "1,")],
    [ValidatorRule.Capabilities, 'capabilities["a b"]', at(text, '"x"')],
    [ValidatorRule.Capabilities, 'capabilities["x\\n"]', at(text, "2,")],
  ]);
  assert.equal(found[1]!.message, 'capabilities["a b"] must be a boolean, got string "x"');
});

/**
 * A plugin config whose `capabilities` has these members (key and value as JSON text), and the
 * rule-21 records JSON.parse's reading gives: each non-boolean whose key no later member repeats
 * (keys compared once decoded), in input order, at most 64.
 */
function capabilitiesCase(
  members: ReadonlyArray<readonly [key: string, value: string]>,
): { text: string; expected: Array<[number, string, number]> } {
  let text = '{"name":"n","cniVersion":"1.0.0","capabilities":{';
  let bytes = encode(text).length;
  const found: Array<[number, string, number]> = [];
  const last = new Map<string, number>();
  members.forEach(([key], i) => last.set(JSON.parse(key), i));
  members.forEach(([key, value], i) => {
    const member = `${i > 0 ? "," : ""}${key}:`;
    text += member + value;
    bytes += encode(member).length;
    const name: string = JSON.parse(key);
    if (value !== "true" && value !== "false" && last.get(name) === i) {
      const path = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)
        ? `capabilities.${name}`
        : `capabilities[${JSON.stringify(name)}]`;
      found.push([ValidatorRule.Capabilities, path, bytes]);
    }
    bytes += encode(value).length;
  });
  return { text: `${text}}}`, expected: found.slice(0, 64) };
}

function assertCapabilities(members: ReadonlyArray<readonly [string, string]>): void {
  const { text, expected } = capabilitiesCase(members);
  const found = check(text, { pluginConfig: true });
  assert.deepEqual(found.map((v) => [v.rule, v.path, v.offset]), expected, text.slice(0, 300));
}

Deno.test("validateConfigBytes() rule 21 capabilities: a repeated key is the same key once decoded", () => {
  const pairs: Array<[string, string]> = [
    ['"a"', '"\\u0061"'],
    ['"a"', '"\\u0041"'.toLowerCase()],
    ['"/"', '"\\/"'],
    ['"x\\n"', '"x\\u000A"'],
    ['"q\\""', '"q\\u0022"'],
    ['"\\\\"', '"\\u005c"'],
    ['"\\ud800"', '"\\uD800"'],
    ['"\u00e9"', '"\\u00e9"'],
    // One character outside the BMP: raw UTF-8, or an escaped surrogate pair, as JSON.parse reads both.
    ['"\u{1F600}"', '"\\ud83d\\ude00"'],
    ['"x\u{1F600}y"', '"x\\uD83D\\uDE00y"'],
  ];
  for (const [one, other] of pairs) {
    for (const [a, b] of [[one, other], [other, one]]) {
      assertCapabilities([[a!, "1"], [b!, "true"]]);
      assertCapabilities([[a!, "true"], ['"z"', "false"], [b!, '"x"']]);
    }
  }
  // Different keys stay different: case, a lone surrogate against a pair, a prefix, the empty key.
  assertCapabilities([['"a"', "1"], ['"A"', "true"], ['"\\u0061b"', "2"], ['""', "3"], [
    '"ab"',
    "true",
  ]]);
  assertCapabilities([['"\\ud83d"', "1"], ['"\\ud83d\\ude00"', "true"], ['"\\ude00"', "2"]]);
  const emoji = conf('"capabilities":{"\u{1F600}":1,"\\ud83d\\ude00":true}');
  assert.deepEqual(check(emoji, { pluginConfig: true }), []);
  assert.deepEqual(JSON.parse(emoji).capabilities, { "\u{1F600}": true });
});

Deno.test("validateConfigBytes() rule 21 capabilities: many keys, repeated near and far, in any order", () => {
  // Every key of the pool, in every spelling, with every kind of value, in a scrambled order:
  // the records are the ones JSON.parse's last-key-wins reading gives.
  const pool = [
    "a",
    "b",
    "ab",
    "ba",
    "\u00e9",
    "x y",
    "x\n",
    "\\",
    "",
    "\ud800",
    "k10",
    "\u{1F600}",
  ];
  const spell = (key: string, variant: number) =>
    variant === 0
      ? JSON.stringify(key)
      : `"${
        [...key].map((c) =>
          c.length === 2 || variant === 1
            ? c.split("").map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")
            : JSON.stringify(c).slice(1, -1)
        ).join("")
      }"`;
  const values = ["true", "1", "false", '"s"', "null", "[true]", '{"a":true}'];
  for (const count of [2, 3, 10, 100, 1000]) {
    const members = Array.from({ length: count }, (_, i) => {
      const j = (i * 7919 + count) % 1009;
      return [
        spell(pool[j % pool.length]!, Math.floor(j / pool.length) % 3),
        values[j % values.length]!,
      ] as const;
    });
    assertCapabilities(members);
  }
  // A key repeated far away, across 50,000 distinct keys: superseded, or the one that counts.
  const middle = Array.from({ length: 50_000 }, (_, i) => [`"m${i}"`, "true"] as const);
  assertCapabilities([['"far"', "1"], ...middle, ['"f\\u0061r"', "true"]]);
  assertCapabilities([['"far"', "true"], ...middle, ['"f\\u0061r"', '"x"']]);
  // 20,000 distinct non-boolean keys, sorted backwards: all of them count, the first 64 written.
  const distinct = Array.from({ length: 20_000 }, (_, i) => [`"k${19_999 - i}"`, "0"] as const);
  assertCapabilities(distinct);
  assert.equal(check(capabilitiesCase(distinct).text, { pluginConfig: true }).length, 64);
});

Deno.test("validateConfigBytes() rule 21 capabilities: repeats in one plugin config do not reach another", () => {
  const text =
    '{"name":"n","cniVersion":"1.0.0","plugins":[{"type":"ib-sriov","capabilities":{"a":1,"b":2,"b":true}},' +
    '{"type":"ib-sriov","capabilities":{"a":true,"b":3}}]}';
  assert.deepEqual(check(text).map((v) => [v.path, v.offset]), [
    ["plugins[0].capabilities.a", at(text, "1,")],
    ["plugins[1].capabilities.b", at(text, "3}")],
  ]);
  // Long keys make long records: reporting them leaves the keys still to compare intact.
  const long = (i: number) => `"k${i}${"x".repeat(30_000)}"`;
  const members: Array<readonly [string, string]> = Array.from(
    { length: 60 },
    (_, i) => [long(i), "1"],
  );
  for (let i = 1; i < 60; i += 2) members.push([long(i), "true"]);
  assertCapabilities(members);
  assert.equal(check(capabilitiesCase(members).text, { pluginConfig: true }).length, 30);
});

Deno.test("validateConfigBytes() rule 21 capabilities: 4 MiB of keys, each repeated later, is read at all", () => {
  // About 200,000 non-boolean keys, each given again at the end as a boolean. Comparing every
  // key with every later one (the former algorithm) is 2·10¹⁰ comparisons, hours; sorting the
  // keys takes a fraction of a second. The same with one late repeat a number: that one counts.
  const keys = Array.from({ length: 204_000 }, (_, i) => `"${i.toString(36)}"`);
  const head = keys.map((k) => `${k}:0`).join(",");
  const tail = keys.map((k, i) => `${k}:${i === 123_456 ? "7" : "true"}`).join(",");
  const text = conf(`"capabilities":{${head},${tail}}`);
  assert.ok(text.length > 4_000_000 && text.length <= MAX_CONFIG_BYTES, `${text.length} bytes`);
  assert.deepEqual(check(text.replace(":7", ":true"), { pluginConfig: true }), []);
  const found = check(text, { pluginConfig: true });
  assert.deepEqual(found.map((v) => [v.rule, v.path, v.offset]), [
    [
      ValidatorRule.Capabilities,
      `capabilities["${(123_456).toString(36)}"]`,
      text.indexOf(":7") + 1,
    ],
  ]);
});

Deno.test("validateConfigBytes() rule 22 string and rule 24 log-file", () => {
  const app = conf('"args":{"cni":{"mellanox.infiniband.app":1}}');
  assert.equal(
    one(app, ValidatorRule.String, 'args.cni["mellanox.infiniband.app"]', at(app, "1}")),
    'args.cni["mellanox.infiniband.app"] must be a string, got number 1',
  );
  for (const bad of ["relative/../x.log", "/tmp/sriov.log", "/a\\u0000b", "a\\u0000b", "./x"]) {
    const text = conf(`"logFile":"${bad}"`);
    one(text, ValidatorRule.LogFile, "logFile", at(text, `"${bad}"`));
    assert.equal(check(text)[0]!.severity, "warning");
  }
  assert.equal(
    one(conf('"logFile":"/tmp/sriov.log"'), ValidatorRule.LogFile, "logFile", 43),
    'logFile "/tmp/sriov.log" is ignored: must be beneath "/var/log/ib-sriov/" or relative to it',
  );
  // Empty: no log file (stderr), as in sriov-cni; a relative path lies beneath the directory.
  for (const ok of ["", "sriov.log", "sriov/x.log", "..x"]) {
    assert.deepEqual(check(conf(`"logFile":"${ok}"`)), [], ok);
  }
});

Deno.test("validateConfigBytes() reports every violation, and at most 64", () => {
  const text = conf('"guid":"x","pkey":"y","link_state":"z","ipam":{"type":"dhcp"}');
  assert.deepEqual(check(text).map((v) => v.ruleName), ["guid", "pkey", "link-state", "ipam-dhcp"]);
  const many = Array.from({ length: 100 }, (_, i) => `"k${i}":1`).join(",");
  assert.equal(check(conf(`"capabilities":{${many}}`)).length, 64);
  // A long key's path is written whole, in JSON.stringify's form; state does not leak between calls.
  const key = '\u00e9\u{1F600}\ud800"'.repeat(20_000);
  const long = check(conf(`"capabilities":${JSON.stringify({ [key]: 1 })}`));
  assert.equal(long[0]!.path, `capabilities[${JSON.stringify(key)}]`);
  assert.deepEqual(check(conf('"guid":"02:00:00:00:00:00:00:01"')), []);
});

Deno.test("violationError() reports the lowest rule with the plugin's code, the rest in details", () => {
  const err = violationError(check(conf('"pkey":"0x0","guid":"x"')));
  assert.equal(err.code, 7);
  assert.equal(
    err.message,
    'guid "x" is not a valid GUID: must be 8 colon-separated hex bytes (xx:xx:xx:xx:xx:xx:xx:xx)',
  );
  assert.equal(err.details, 'pkey "0x0" is invalid: the 15-bit partition key must not be 0');
  assert.equal(violationError(check("{")).code, 6);
  assert.equal(violationError(check('{"name":"n","cniVersion":2}')).code, 6);
  assert.equal(violationError(check('{"name":"n","cniVersion":"2"}')).code, 1);
  assert.equal(violationError(check(new Uint8Array(MAX_CONFIG_BYTES + 1))).code, 5);
  assert.throws(() => violationError([]), RangeError);
});

Deno.test("dispatch() runs the validator before any handler, in the config's version", async () => {
  const calls: string[] = [];
  const record = (req: CniRequest) => {
    calls.push(`handler ${req.configProblem?.message}`);
    return Promise.resolve();
  };
  async function run(command: string, stdin: string): Promise<Record<string, unknown>> {
    let stdout = "";
    const status = await dispatch(
      {
        getenv: (n) =>
          ({
            CNI_COMMAND: command,
            CNI_CONTAINERID: "c1",
            CNI_NETNS: "/var/run/netns/p",
            CNI_IFNAME: "net1",
            CNI_PATH: "/opt/cni/bin",
          })[n],
        readStdin: () => Promise.resolve(encode(stdin)),
        stdout: (t) => void (stdout += t),
        stderr: () => {},
      },
      {
        add: () => Promise.reject(new Error("unreachable")),
        del: record,
        check: record,
        status: record,
        gc: record,
      },
      "test",
    );
    return status === 0 ? {} : JSON.parse(stdout);
  }
  for (const command of ["ADD", "CHECK", "STATUS"]) {
    const err = await run(
      command,
      '{"cniVersion":"1.1.0","name":"n","deviceID":"0000:3b:00","pkey":"0x0","plugins":1}',
    );
    assert.deepEqual(err, {
      cniVersion: "1.1.0",
      code: 7,
      msg: 'deviceID "0000:3b:00" is not a PCI address: expected DDDD:BB:DD.F, e.g. 0000:3b:00.2',
      details: 'pkey "0x0" is invalid: the 15-bit partition key must not be 0',
    });
  }
  const deep = await run("GC", `{"name":"n","x":${"[".repeat(200)}${"]".repeat(200)}}`);
  assert.equal(deep.code, 6);
  assert.match(String(deep.msg), /^error decoding network config: nested deeper than 128 levels/);
  assert.deepEqual(calls, []);
  // DEL and GC go on from the attachment records: their handlers get the error, to log.
  for (const command of ["DEL", "GC"]) {
    assert.deepEqual(
      await run(command, '{"cniVersion":"1.1.0","name":"n","deviceID":"0000:3b:00","pkey":"0x0"}'),
      {},
    );
  }
  const problem =
    'deviceID "0000:3b:00" is not a PCI address: expected DDDD:BB:DD.F, e.g. 0000:3b:00.2';
  assert.deepEqual(calls, [`handler ${problem}`, `handler ${problem}`]);
});

Deno.test("validateConfigBytes() rule 24 accepts a logFile of exactly 4095 bytes and names of 255, beneath /var/log/ib-sriov/ or relative to it", () => {
  const name = "n".repeat(255);
  const deep = `/var/log/ib-sriov/${"d/".repeat(2037)}${"x".repeat(3)}`;
  assert.equal(new TextEncoder().encode(deep).length, 4095);
  for (
    const ok of [
      `/var/log/ib-sriov/${name}`,
      deep,
      "/var/log/ib-sriov/a/b.log",
      "/var/log/ib-sriov/..x",
    ]
  ) {
    assert.deepEqual(check(conf(`"logFile":"${ok}"`)), [], ok.slice(0, 60));
  }
  const over = `${deep}x`;
  assert.deepEqual(check(conf(`"logFile":"${over}"`)).map((v) => v.rule), [ValidatorRule.LogFile]);
  // A relative path counts as resolved beneath the directory.
  const relative = deep.slice("/var/log/ib-sriov/".length);
  assert.deepEqual(check(conf(`"logFile":"${relative}"`)), []);
  assert.deepEqual(
    check(conf(`"logFile":"${relative}x"`)).map((v) => v.rule),
    [ValidatorRule.LogFile],
  );
  // Bytes count, not characters: 127 two-byte ones and one more make 255; 86 of three make 258.
  assert.deepEqual(check(conf(`"logFile":"/var/log/ib-sriov/${"é".repeat(127)}x"`)), []);
  assert.deepEqual(
    check(conf(`"logFile":"/var/log/ib-sriov/${"€".repeat(86)}"`)).map((v) => v.rule),
    [ValidatorRule.LogFile],
  );
});
