import assert from "node:assert/strict";
import {
  assertRepresentable,
  emptyResult,
  formatResult,
  parseResult,
  type Result,
} from "../../../lib/cni/result.ts";
import type { CniVersion } from "../../../lib/cni/versions.ts";
import { assertCniError } from "../../assert_cni_error.ts";

const RESULT: Result = {
  interfaces: [{
    name: "net1",
    mac: "00:00:10:87:fe:80:00:00:00:00:00:00:02:00:00:00:00:00:00:05",
    mtu: 2044,
    sandbox: "/var/run/netns/pod",
    pciID: "0000:3b:00.2",
  }],
  ips: [
    { address: "10.56.217.171/24", gateway: "10.56.217.1", interface: 0 },
    { address: "fd00::5/64", interface: 0 },
  ],
  routes: [{ dst: "0.0.0.0/0", gw: "10.56.217.1", priority: 100 }, { dst: "::/0" }],
  dns: {},
};

Deno.test("formatResult() writes 1.x results with mac, mtu, sandbox and pciID and no empty dns", () => {
  for (const version of ["1.0.0", "1.1.0"] as CniVersion[]) {
    assert.deepEqual(formatResult(RESULT, version), {
      cniVersion: version,
      interfaces: RESULT.interfaces,
      ips: RESULT.ips,
      routes: RESULT.routes,
    });
  }
});

Deno.test("formatResult() writes 0.3.x and 0.4.0 results with ips[].version and dns always present", () => {
  for (const version of ["0.3.0", "0.3.1", "0.4.0"] as CniVersion[]) {
    assert.deepEqual(formatResult(RESULT, version), {
      cniVersion: version,
      interfaces: [{ name: "net1", mac: RESULT.interfaces[0]!.mac, sandbox: "/var/run/netns/pod" }],
      ips: [
        { version: "4", address: "10.56.217.171/24", gateway: "10.56.217.1", interface: 0 },
        { version: "6", address: "fd00::5/64", interface: 0 },
      ],
      routes: [{ dst: "0.0.0.0/0", gw: "10.56.217.1" }, { dst: "::/0" }],
      dns: {},
    });
  }
});

Deno.test("formatResult() writes 0.1.0 and 0.2.0 results as ip4/ip6 with their routes", () => {
  for (const version of ["0.1.0", "0.2.0"] as CniVersion[]) {
    assert.deepEqual(formatResult({ ...RESULT, dns: { nameservers: ["10.0.0.1"] } }, version), {
      cniVersion: version,
      ip4: {
        ip: "10.56.217.171/24",
        gateway: "10.56.217.1",
        routes: [{ dst: "0.0.0.0/0", gw: "10.56.217.1" }],
      },
      ip6: { ip: "fd00::5/64", routes: [{ dst: "::/0" }] },
      dns: { nameservers: ["10.0.0.1"] },
    });
  }
});

Deno.test("formatResult() refuses a 0.2.0 result without addresses with code 1", () => {
  assertCniError(
    () => formatResult({ ...RESULT, ips: [] }, "0.2.0"),
    1,
    'cniVersion "0.2.0" cannot express a result without IP addresses',
  );
});

Deno.test("assertRepresentable() refuses 0.1.0/0.2.0 without IPAM before anything happens", () => {
  assertCniError(
    () => assertRepresentable("0.1.0", false),
    1,
    /cannot express a result without IP addresses/,
  );
  assertRepresentable("0.1.0", true);
  assertRepresentable("0.3.0", false);
});

Deno.test("parseResult() reads results of every version into the newest form", () => {
  const v1 = parseResult(formatResult(RESULT, "1.1.0"));
  assert.deepEqual(v1, RESULT);
  const v04 = parseResult(formatResult(RESULT, "0.4.0"));
  assert.deepEqual(v04.ips, RESULT.ips);
  const v02 = parseResult(formatResult(RESULT, "0.2.0"));
  assert.deepEqual(v02.ips, [{ address: "10.56.217.171/24", gateway: "10.56.217.1" }, {
    address: "fd00::5/64",
  }]);
  assert.deepEqual(v02.routes, [{ dst: "0.0.0.0/0", gw: "10.56.217.1" }, { dst: "::/0" }]);
});

Deno.test("parseResult() rejects what is not a result with code 6", () => {
  assertCniError(() => parseResult([]), 6, "result is not a JSON object: []");
  assertCniError(
    () => parseResult({ ips: [{ address: "10.0.0.300/24" }] }),
    6,
    'invalid ips[].address "10.0.0.300/24" in result',
  );
  assertCniError(() => parseResult({ routes: [{ gw: "10.0.0.1" }] }), 6, /invalid route/);
  assertCniError(() => parseResult({ interfaces: [{ mac: "x" }] }), 6, /invalid interface/);
});

Deno.test("parseResult() names the element that is wrong, in every version's fields", () => {
  assertCniError(
    () => parseResult({ ips: ["10.0.0.1/24"] }),
    6,
    'invalid ip "10.0.0.1/24" in result',
  );
  assertCniError(
    () => parseResult({ interfaces: [{ name: 1 }] }),
    6,
    'invalid interface {"name":1} in result',
  );
  assertCniError(
    () => parseResult({ routes: [{ dst: "" }] }),
    6,
    'invalid route {"dst":""} in result',
  );
  assertCniError(
    () => parseResult({ ip4: { ip: "10.0.0.1" } }),
    6,
    'invalid ip4.ip "10.0.0.1" in result',
  );
  assertCniError(
    () => parseResult({ ip6: { ip: "fd00::5/64", routes: [{ gw: "fd00::1" }] } }),
    6,
    'invalid route {"gw":"fd00::1"} in result',
  );
});

Deno.test("parseResult() drops optional fields of the wrong type and ignores non-list lists", () => {
  const result = parseResult({
    interfaces: [{ name: "net1", mac: "", mtu: "9000", sandbox: "/var/run/netns/p" }],
    ips: [{ address: "10.0.0.2/24", gateway: 7, interface: 0 }],
    routes: "none",
    dns: { nameservers: ["10.0.0.53"], domain: 5, search: [1] },
    ip4: "legacy",
  });
  assert.deepEqual(result, {
    interfaces: [{ name: "net1", sandbox: "/var/run/netns/p" }],
    ips: [{ address: "10.0.0.2/24", interface: 0 }],
    routes: [],
    dns: { nameservers: ["10.0.0.53"] },
  });
  assert.deepEqual(parseResult({ dns: [] }), emptyResult());
});
