import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { dispatch, MAX_STDIN_BYTES } from "../../../lib/cni/dispatch.ts";
import {
  MAX_CONFIG_BYTES,
  MAX_CONFIG_DEPTH,
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
  assert.equal(MAX_CONFIG_BYTES, MAX_STDIN_BYTES);
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
    logFile: "/var/log/ib.log",
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
    "guid must be a string, got null null",
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
    'logLevel "verbose" is invalid: must be one of error, warning, info, debug',
  );
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

Deno.test("validateConfigBytes() rules 18 ipam-type and 19 ipam-dhcp", () => {
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

Deno.test("validateConfigBytes() rule 22 string and rule 24 log-file", () => {
  const app = conf('"args":{"cni":{"mellanox.infiniband.app":1}}');
  assert.equal(
    one(app, ValidatorRule.String, 'args.cni["mellanox.infiniband.app"]', at(app, "1}")),
    'args.cni["mellanox.infiniband.app"] must be a string, got number 1',
  );
  for (const bad of ["relative/x.log", "", "/a\\u0000b"]) {
    const text = conf(`"logFile":"${bad}"`);
    one(text, ValidatorRule.LogFile, "logFile", at(text, `"${bad}"`));
  }
  assert.equal(
    one(conf('"logFile":"x"'), ValidatorRule.LogFile, "logFile", 43),
    'logFile "x" is invalid: must be an absolute path',
  );
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
  const record = () => {
    calls.push("handler");
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
    assert.equal(status, 1);
    return JSON.parse(stdout);
  }
  for (const command of ["ADD", "CHECK", "DEL", "STATUS", "GC"]) {
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
  const deep = await run("DEL", `{"name":"n","x":${"[".repeat(200)}${"]".repeat(200)}}`);
  assert.equal(deep.code, 6);
  assert.match(String(deep.msg), /^error decoding network config: nested deeper than 128 levels/);
  assert.deepEqual(calls, []);
});
