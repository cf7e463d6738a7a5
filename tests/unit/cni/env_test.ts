import assert from "node:assert/strict";
import { parseCmdArgs } from "../../../lib/cni/env.ts";
import { assertCniError } from "../../assert_cni_error.ts";

function env(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => vars[name];
}

const FULL = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "c0ffee",
  CNI_NETNS: "/var/run/netns/pod",
  CNI_IFNAME: "net1",
  CNI_PATH: "/opt/cni/bin",
};

Deno.test("parseCmdArgs() reads a complete ADD environment", () => {
  const args = parseCmdArgs(env({ ...FULL, CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=p" }));
  assert.deepEqual(args, {
    command: "ADD",
    containerId: "c0ffee",
    netns: "/var/run/netns/pod",
    ifname: "net1",
    args: { IgnoreUnknown: "1", K8S_POD_NAME: "p" },
    argsRaw: "IgnoreUnknown=1;K8S_POD_NAME=p",
    path: "/opt/cni/bin",
    netnsOverride: false,
  });
});

Deno.test("parseCmdArgs() rejects an unknown command with code 4", () => {
  assertCniError(
    () => parseCmdArgs(env({ ...FULL, CNI_COMMAND: "ATTACH" })),
    4,
    'unknown CNI_COMMAND: "ATTACH"',
  );
});

Deno.test("parseCmdArgs() reports every missing variable at once, in libcni's order", () => {
  const cases: [string, Record<string, string>, string][] = [
    [
      "ADD",
      { CNI_COMMAND: "ADD" },
      "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing",
    ],
    [
      "CHECK",
      { CNI_COMMAND: "CHECK", CNI_CONTAINERID: "a" },
      "required env variables [CNI_NETNS,CNI_IFNAME,CNI_PATH] missing",
    ],
    [
      "DEL without netns",
      { CNI_COMMAND: "DEL", CNI_CONTAINERID: "a", CNI_IFNAME: "x" },
      "required env variables [CNI_PATH] missing",
    ],
    ["STATUS", { CNI_COMMAND: "STATUS" }, "required env variables [CNI_PATH] missing"],
    ["GC", { CNI_COMMAND: "GC" }, "required env variables [CNI_PATH] missing"],
  ];
  for (const [, vars, msg] of cases) assertCniError(() => parseCmdArgs(env(vars)), 4, msg);
});

Deno.test("parseCmdArgs() lets DEL run without CNI_NETNS and STATUS without container variables", () => {
  assert.equal(
    parseCmdArgs(env({ CNI_COMMAND: "DEL", CNI_CONTAINERID: "a", CNI_IFNAME: "x", CNI_PATH: "/p" }))
      .netns,
    "",
  );
  assert.equal(parseCmdArgs(env({ CNI_COMMAND: "STATUS", CNI_PATH: "/p" })).command, "STATUS");
  assert.equal(parseCmdArgs(env({ CNI_COMMAND: "VERSION" })).command, "VERSION");
});

Deno.test("parseCmdArgs() rejects container IDs outside the spec's pattern", () => {
  for (const id of ["-leading-dash", "has space", "a/b", "../etc", "a\nb", "é"]) {
    assertCniError(
      () => parseCmdArgs(env({ ...FULL, CNI_CONTAINERID: id })),
      4,
      `invalid CNI_CONTAINERID ${JSON.stringify(id)}: invalid characters in containerID`,
    );
  }
  assertCniError(
    () => parseCmdArgs(env({ ...FULL, CNI_CONTAINERID: "a".repeat(201) })),
    4,
    /longer than 200 characters/,
  );
});

Deno.test("parseCmdArgs() applies every interface name rule", () => {
  const cases: [string, string][] = [
    [".", "interface name is . or .."],
    ["..", "interface name is . or .."],
    ["a".repeat(16), "interface name is too long"],
    ["ééééééééé", "interface name is too long"],
    ["net/1", "interface name contains / or : or whitespace characters"],
    ["net:1", "interface name contains / or : or whitespace characters"],
    ["net 1", "interface name contains / or : or whitespace characters"],
    ["net\t1", "interface name contains / or : or whitespace characters"],
  ];
  for (const [name, why] of cases) {
    const err = assertCniError(
      () => parseCmdArgs(env({ ...FULL, CNI_IFNAME: name })),
      4,
      `invalid CNI_IFNAME ${JSON.stringify(name)}: ${why}`,
    );
    if (why.endsWith("too long")) assert.match(err.details, /less than 16 characters/);
  }
  assert.equal(parseCmdArgs(env({ ...FULL, CNI_IFNAME: "a".repeat(15) })).ifname, "a".repeat(15));
});

Deno.test("parseCmdArgs() reads CNI_NETNS_OVERRIDE", () => {
  assert.equal(parseCmdArgs(env({ ...FULL, CNI_NETNS_OVERRIDE: "true" })).netnsOverride, true);
  assert.equal(parseCmdArgs(env({ ...FULL, CNI_NETNS_OVERRIDE: "1" })).netnsOverride, true);
  assert.equal(parseCmdArgs(env({ ...FULL, CNI_NETNS_OVERRIDE: "no" })).netnsOverride, false);
});

Deno.test("parseCmdArgs() parses CNI_ARGS and refuses unknown keys without IgnoreUnknown", () => {
  assertCniError(
    () => parseCmdArgs(env({ ...FULL, CNI_ARGS: "K8S_POD_NAME=p;MAC=aa" })),
    2,
    'unknown CNI_ARGS key "MAC" with value "aa"',
  );
  assertCniError(
    () => parseCmdArgs(env({ ...FULL, CNI_ARGS: "novalue" })),
    4,
    'invalid CNI_ARGS pair "novalue": expected KEY=VALUE',
  );
  assert.deepEqual(
    parseCmdArgs(env({ ...FULL, CNI_ARGS: "IgnoreUnknown=true;MAC=aa;X=a=b" })).args,
    {
      IgnoreUnknown: "true",
      MAC: "aa",
      X: "a=b",
    },
  );
});

Deno.test("parseCmdArgs() refuses a NUL byte in any variable with code 4, naming it", () => {
  for (const name of ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"]) {
    assertCniError(
      () => parseCmdArgs(env({ ...FULL, [name]: "a\0/../b" })),
      4,
      `invalid ${name} "a\\u0000/../b": contains a NUL byte`,
    );
  }
});

Deno.test("parseCmdArgs() refuses control characters in CNI_IFNAME with code 4", () => {
  assertCniError(
    () => parseCmdArgs(env({ ...FULL, CNI_IFNAME: "\x1b[31mred" })),
    4,
    'invalid CNI_IFNAME "\\u001b[31mred": interface name contains control characters',
  );
});
