import assert from "node:assert/strict";
import { decodeNetConf, loadNetConf } from "../../../lib/config/load_net_conf.ts";
import { assertCniError } from "../../assert_cni_error.ts";

const BASE = { cniVersion: "1.0.0", name: "ib-net", type: "ib-sriov", deviceID: "0000:3b:00.2" };

function load(
  extra: Record<string, unknown>,
  command: "ADD" | "DEL" | "CHECK" | "STATUS" | "GC" = "ADD",
) {
  return loadNetConf({ ...BASE, ...extra }, "1.0.0", command);
}

Deno.test("loadNetConf() decodes the upstream README example", () => {
  const conf = loadNetConf(
    {
      cniVersion: "0.3.1",
      name: "mynet",
      type: "ib-sriov",
      deviceID: "0000:03:02.0",
      link_state: "enable",
      rdmaIsolation: true,
      ibKubernetesEnabled: false,
      pkey: "0x8001",
      ipam: { type: "host-local", subnet: "10.56.217.0/24", gateway: "10.56.217.1" },
    },
    "0.3.1",
    "ADD",
  );
  assert.deepEqual(conf, {
    cniVersion: "0.3.1",
    name: "mynet",
    type: "ib-sriov",
    deviceId: "0000:03:02.0",
    linkState: "enable",
    rdmaIsolation: true,
    ibKubernetesEnabled: false,
    vfioPciMode: false,
    pkey: "0x8001",
    ipam: { type: "host-local", subnet: "10.56.217.0/24", gateway: "10.56.217.1" },
    argsCni: {},
    logLevel: "info",
  });
});

Deno.test("loadNetConf() ignores unknown keys and the Go plugin's internal fields", () => {
  const conf = load({
    Master: "ib0",
    HostIFGUID: "11:22:33:44:55:66:77:88",
    VFID: 3,
    vf: 0,
    deviceid: "x",
  });
  assert.equal(Object.hasOwn(conf, "Master"), false);
  assert.equal(Object.hasOwn(conf, "HostIFGUID"), false);
  assert.equal(conf.deviceId, "0000:3b:00.2");
});

Deno.test("loadNetConf() requires deviceID for ADD and CHECK only", () => {
  const { deviceID: _, ...noDevice } = BASE;
  for (const command of ["ADD", "CHECK"] as const) {
    const err = assertCniError(
      () => loadNetConf(noDevice, "1.0.0", command),
      7,
      "deviceID is required",
    );
    assert.match(err.details, /k8s\.v1\.cni\.cncf\.io\/resourceName/);
  }
  assert.equal(loadNetConf(noDevice, "1.0.0", "DEL").deviceId, undefined);
});

Deno.test("loadNetConf() accepts PCI addresses of the form DDDD:BB:DD.F and lower-cases them", () => {
  assert.equal(load({ deviceID: "0000:AF:06.1" }).deviceId, "0000:af:06.1");
  for (
    const bad of [
      "03:02.0",
      "0000:03:02",
      "0000:03:20.0",
      "0000:03:02.8",
      "0000:3b:00.2/../x",
      "mlx5_0",
      "",
    ]
  ) {
    assertCniError(
      () => load({ deviceID: bad }),
      7,
      `deviceID ${
        JSON.stringify(bad)
      } is not a PCI address: expected DDDD:BB:DD.F, e.g. 0000:3b:00.2`,
    );
  }
});

Deno.test("loadNetConf() takes the GUID from runtimeConfig, then args.cni, then guid", () => {
  const all = {
    runtimeConfig: { infinibandGUID: "02:00:00:00:00:00:00:01" },
    args: { cni: { guid: "02:00:00:00:00:00:00:02" } },
    guid: "02:00:00:00:00:00:00:03",
  };
  assert.deepEqual([load(all).guid, load(all).guidSource], [
    "02:00:00:00:00:00:00:01",
    "runtimeConfig.infinibandGUID",
  ]);
  const { runtimeConfig: _, ...noRuntime } = all;
  assert.deepEqual([load(noRuntime).guid, load(noRuntime).guidSource], [
    "02:00:00:00:00:00:00:02",
    "args.cni.guid",
  ]);
  assert.deepEqual([
    load({ guid: "AA:BB:CC:DD:EE:FF:00:11" }).guid,
    load({ guid: "AA:BB:CC:DD:EE:FF:00:11" }).guidSource,
  ], [
    "aa:bb:cc:dd:ee:ff:00:11",
    "guid",
  ]);
  assert.equal(load({}).guid, undefined);
});

Deno.test("loadNetConf() rejects malformed or all-zero GUIDs in every source, naming the source", () => {
  const cases: [Record<string, unknown>, string, string][] = [
    [
      { guid: "invalid GUID" },
      "guid",
      "must be 8 colon-separated hex bytes (xx:xx:xx:xx:xx:xx:xx:xx)",
    ],
    [
      { guid: "00:11:22:33:44:55:66" },
      "guid",
      "must be 8 colon-separated hex bytes (xx:xx:xx:xx:xx:xx:xx:xx)",
    ],
    [
      { guid: "00:AF-3B-0123:21:3322" },
      "guid",
      "must be 8 colon-separated hex bytes (xx:xx:xx:xx:xx:xx:xx:xx)",
    ],
    [{ guid: "00:00:00:00:00:00:00:00" }, "guid", "must not be all zeros"],
    [
      { runtimeConfig: { infinibandGUID: "zz" } },
      "runtimeConfig.infinibandGUID",
      "must be 8 colon-separated hex bytes (xx:xx:xx:xx:xx:xx:xx:xx)",
    ],
    [
      { args: { cni: { guid: "1:2" } } },
      "args.cni.guid",
      "must be 8 colon-separated hex bytes (xx:xx:xx:xx:xx:xx:xx:xx)",
    ],
  ];
  for (const [extra, field, why] of cases) {
    const value = (extra.guid ??
      (extra.runtimeConfig as { infinibandGUID?: string } | undefined)?.infinibandGUID ??
      (extra.args as { cni: { guid: string } } | undefined)?.cni.guid) as string;
    assertCniError(
      () => load(extra),
      7,
      `${field} ${JSON.stringify(value)} is not a valid GUID: ${why}`,
    );
  }
  assert.equal(load({ guid: "ff:ff:ff:ff:ff:ff:ff:ff" }).guid, "ff:ff:ff:ff:ff:ff:ff:ff");
});

Deno.test("loadNetConf() tolerates any JSON in args.cni but needs strings for guid and mellanox.infiniband.app", () => {
  const conf = load({
    args: {
      cni: {
        debug: true,
        pkey: "0x8001",
        nested: { a: [1] },
        "mellanox.infiniband.app": "configured",
      },
    },
  });
  assert.deepEqual(conf.argsCni, {
    debug: true,
    pkey: "0x8001",
    nested: { a: [1] },
    "mellanox.infiniband.app": "configured",
  });
  assertCniError(
    () => load({ args: { cni: { guid: 1 } } }),
    7,
    "args.cni.guid must be a string, got number 1",
  );
  assertCniError(
    () => load({ args: { cni: { "mellanox.infiniband.app": true } } }),
    7,
    'args.cni["mellanox.infiniband.app"] must be a string, got boolean true',
  );
});

Deno.test("loadNetConf() validates pkey as 0x and up to 4 hex digits with a non-zero key", () => {
  for (const ok of ["0x1", "0x7fff", "0x8001", "0xFFFF", "0x5"]) {
    assert.equal(load({ pkey: ok }).pkey, ok);
  }
  const cases: [string, string][] = [
    ["8001", "must be 0x followed by 1 to 4 hex digits"],
    ["0x18001", "must be 0x followed by 1 to 4 hex digits"],
    ["0x", "must be 0x followed by 1 to 4 hex digits"],
    ["0xg1", "must be 0x followed by 1 to 4 hex digits"],
    ["0x0", "the 15-bit partition key must not be 0"],
    ["0x8000", "the 15-bit partition key must not be 0"],
  ];
  for (const [pkey, why] of cases) {
    assertCniError(() => load({ pkey }), 7, `pkey ${JSON.stringify(pkey)} is invalid: ${why}`);
  }
  assertCniError(() => load({ pkey: 5 }), 7, "pkey must be a string, got number 5");
});

Deno.test("loadNetConf() accepts link_state auto, enable and disable only (empty is unset)", () => {
  for (const s of ["auto", "enable", "disable"]) assert.equal(load({ link_state: s }).linkState, s);
  for (const s of ["up", "Enable", "on", " "]) {
    assertCniError(
      () => load({ link_state: s }),
      7,
      `link_state ${JSON.stringify(s)} is invalid: must be one of auto, enable, disable`,
    );
  }
});

Deno.test("loadNetConf() rejects dhcp, an empty ipam.type and a missing one", () => {
  const dhcp = assertCniError(
    () => load({ ipam: { type: "dhcp" } }),
    7,
    'ipam.type "dhcp" is not supported: the VF has no carrier to run a DHCP client on',
  );
  assert.match(dhcp.details, /host-local/);
  assertCniError(() => load({ ipam: { type: "" } }), 7, /^ipam\.type "" is invalid/);
  assertCniError(
    () => load({ ipam: { subnet: "10.0.0.0/8" } }),
    7,
    "ipam.type is required: must be a string",
  );
});

Deno.test("loadNetConf() rejects an ipam.type that is a path, not a plugin's file name", () => {
  for (const type of ["../../bin/sh", "/usr/bin/id", ".", "..", "a\0b"]) {
    assertCniError(
      () => load({ ipam: { type } }),
      7,
      `ipam.type ${JSON.stringify(type)} is invalid: must be the file name of a plugin in CNI_PATH`,
    );
  }
});

Deno.test("loadNetConf() checks that boolean fields are booleans", () => {
  for (const field of ["rdmaIsolation", "ibKubernetesEnabled", "vfioPciMode"]) {
    assertCniError(
      () => load({ [field]: "true" }),
      7,
      `${field} must be a boolean, got string "true"`,
    );
  }
});

Deno.test("loadNetConf() refuses vfioPciMode with rdmaIsolation", () => {
  assertCniError(
    () => load({ vfioPciMode: true, rdmaIsolation: true }),
    7,
    /^vfioPciMode true with rdmaIsolation true is not supported/,
  );
});

Deno.test("loadNetConf() reads logLevel and a logFile beneath the log directory, absolute or relative", () => {
  const conf = load({ logLevel: "debug", logFile: "/var/log/ib-sriov/ib-sriov.log" });
  assert.equal(conf.logLevel, "debug");
  assert.equal(conf.logFile, "/var/log/ib-sriov/ib-sriov.log");
  assert.equal(conf.warnings, undefined);
  assert.equal(load({ logFile: "sriov/x.log" }).logFile, "sriov/x.log");
  // Empty means no log file, as in sriov-cni.
  assert.equal(Object.hasOwn(load({ logFile: "" }), "logFile"), false);
});

Deno.test("loadNetConf() ignores a logLevel or logFile the validator warns about, and returns the warning", () => {
  const conf = load({ logLevel: "panic", logFile: "/tmp/sriov.log" }, "ADD");
  assert.equal(conf.logLevel, "info");
  assert.equal(Object.hasOwn(conf, "logFile"), false);
  assert.deepEqual(
    conf.warnings?.map((w) => [w.ruleName, w.severity, w.message, w.details]),
    [
      [
        "log-level",
        "warning",
        'logLevel "panic" is ignored: must be one of error, warning, info, debug',
        "records are written at info",
      ],
      [
        "log-file",
        "warning",
        'logFile "/tmp/sriov.log" is ignored: must be beneath "/var/log/ib-sriov/" or relative to it',
        "records go to stderr",
      ],
    ],
  );
  assert.equal(
    load({ logFile: 1 }).warnings?.[0]?.message,
    "logFile must be a string, got number 1",
  );
});

Deno.test("loadNetConf() reads an empty link_state, pkey or GUID as unset, as the Go plugin does", () => {
  const conf = load({
    link_state: "",
    pkey: "",
    guid: "",
    runtimeConfig: { infinibandGUID: "" },
    args: { cni: { guid: "02:00:00:00:00:00:00:0e" } },
  });
  assert.equal(Object.hasOwn(conf, "linkState"), false);
  assert.equal(Object.hasOwn(conf, "pkey"), false);
  assert.equal(conf.guid, "02:00:00:00:00:00:00:0e");
  assert.equal(conf.guidSource, "args.cni.guid");
  const none = load({ runtimeConfig: { infinibandGUID: "" }, args: { cni: { guid: "" } } });
  assert.equal(Object.hasOwn(none, "guid"), false);
});

Deno.test("loadNetConf() reads an empty ipam as no IPAM, for every command", () => {
  for (const command of ["ADD", "DEL", "CHECK", "STATUS", "GC"] as const) {
    const conf = load({ ipam: {} }, command);
    assert.equal(Object.hasOwn(conf, "ipam"), false, command);
  }
  assertCniError(
    () => load({ ipam: { subnet: "10.0.0.0/8" } }),
    7,
    "ipam.type is required: must be a string",
  );
  assertCniError(
    () => load({ ipam: { type: "" } }),
    7,
    'ipam.type "" is invalid: name the IPAM plugin, e.g. host-local',
  );
});

Deno.test("loadNetConf() keeps prevResult, dns and capabilities types strict", () => {
  assert.deepEqual(load({ prevResult: { cniVersion: "1.0.0", interfaces: [] } }).prevResult, {
    cniVersion: "1.0.0",
    interfaces: [],
  });
  assertCniError(
    () => load({ prevResult: "x" }),
    7,
    'prevResult must be an object, got string "x"',
  );
  assertCniError(
    () => load({ capabilities: { infinibandGUID: "yes" } }),
    7,
    'capabilities.infinibandGUID must be a boolean, got string "yes"',
  );
});

Deno.test("decodeNetConf() does not run the validator again on what dispatch() accepted; loadNetConf() does", () => {
  // A pkey whose 15-bit key is 0 breaks rule 14 but has the type the decoder reads.
  const config = { ...BASE, pkey: "0x8000" };
  assert.equal(decodeNetConf({ config, cniVersion: "1.0.0" }).pkey, "0x8000");
  assertCniError(
    () => loadNetConf(config, "1.0.0", "ADD"),
    7,
    'pkey "0x8000" is invalid: the 15-bit partition key must not be 0',
  );
});
