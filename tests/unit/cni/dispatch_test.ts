import assert from "node:assert/strict";
import { type CniHandlers, type CniRequest, dispatch } from "../../../lib/cni/dispatch.ts";
import { CniError } from "../../../lib/cni/errors.ts";
import { emptyResult } from "../../../lib/cni/result.ts";

interface Run {
  status: number;
  stdout: string;
  stderr: string;
  calls: CniRequest[];
}

const ADD_ENV = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "c1",
  CNI_NETNS: "/var/run/netns/p",
  CNI_IFNAME: "net1",
  CNI_PATH: "/opt/cni/bin",
};

async function run(
  env: Record<string, string>,
  stdin: string | Uint8Array,
  overrides: Partial<CniHandlers> = {},
): Promise<Run> {
  const out: Run = { status: -1, stdout: "", stderr: "", calls: [] };
  const record = (req: CniRequest) => {
    out.calls.push(req);
  };
  const handlers: CniHandlers = {
    add: (req) => {
      record(req);
      return Promise.resolve({ ...emptyResult(), interfaces: [{ name: req.args.ifname }] });
    },
    del: (req) => Promise.resolve(record(req)),
    check: (req) => Promise.resolve(record(req)),
    status: (req) => Promise.resolve(record(req)),
    gc: (req) => Promise.resolve(record(req)),
    ...overrides,
  };
  out.status = await dispatch(
    {
      getenv: (n) => env[n],
      readStdin: () =>
        Promise.resolve(typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin),
      stdout: (t) => void (out.stdout += t),
      stderr: (t) => void (out.stderr += t),
    },
    handlers,
    "ib-sriov CNI plugin v0.0.0-test",
  );
  return out;
}

Deno.test("dispatch() answers VERSION without reading stdin", async () => {
  const r = await run({ CNI_COMMAND: "VERSION" }, "not json");
  assert.equal(r.status, 0);
  assert.deepEqual(JSON.parse(r.stdout), {
    cniVersion: "1.1.0",
    supportedVersions: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
  });
});

Deno.test("dispatch() prints the about line on stderr when CNI_COMMAND is empty", async () => {
  const r = await run({}, "");
  assert.equal(r.status, 0);
  assert.equal(r.stdout, "");
  assert.match(
    r.stderr,
    /^ib-sriov CNI plugin v0.0.0-test\nCNI protocol versions supported: 0.1.0, .*1.1.0\n$/,
  );
});

Deno.test("dispatch() writes ADD's result in the config's version, 4-space indented", async () => {
  const r = await run(
    ADD_ENV,
    '{"cniVersion":"1.0.0","name":"n","type":"ib-sriov","deviceID":"0000:3b:00.1"}',
  );
  assert.equal(r.status, 0);
  assert.equal(
    r.stdout,
    JSON.stringify({ cniVersion: "1.0.0", interfaces: [{ name: "net1" }] }, null, 4),
  );
  assert.equal(r.calls[0]!.cniVersion, "1.0.0");
  assert.equal(
    new TextDecoder().decode(r.calls[0]!.stdin),
    '{"cniVersion":"1.0.0","name":"n","type":"ib-sriov","deviceID":"0000:3b:00.1"}',
  );
});

Deno.test("dispatch() turns bad JSON into code 6 on stdout with exit 1", async () => {
  const r = await run(ADD_ENV, '{"name": "mynet" "type": "ib-sriov"}');
  assert.equal(r.status, 1);
  const err = JSON.parse(r.stdout);
  assert.equal(err.code, 6);
  assert.match(err.msg, /^error decoding network config: /);
  assert.equal(err.cniVersion, "1.1.0");
  assert.equal(r.calls.length, 0);
});

Deno.test("dispatch() rejects non-UTF-8, non-object and oversized stdin", async () => {
  assert.equal(JSON.parse((await run(ADD_ENV, new Uint8Array([0x7b, 0xff, 0x7d]))).stdout).code, 6);
  assert.match(
    JSON.parse((await run(ADD_ENV, "[1]")).stdout).msg,
    /expected a JSON object, got \[1\]/,
  );
  const huge = (await run(ADD_ENV, new Uint8Array(5 * 1024 * 1024))).stdout;
  assert.equal(JSON.parse(huge).code, 5);
});

Deno.test("dispatch() requires deviceID for ADD with code 7, before any handler runs", async () => {
  const r = await run(ADD_ENV, '{"cniVersion":"1.0.0","name":"n"}');
  assert.equal(r.calls.length, 0);
  const err = JSON.parse(r.stdout);
  assert.equal(err.code, 7);
  assert.match(err.msg, /deviceID/);
});

Deno.test("dispatch() checks the network name with code 7", async () => {
  assert.deepEqual(
    JSON.parse((await run(ADD_ENV, '{"cniVersion":"1.0.0","deviceID":"0000:3b:00.1"}')).stdout),
    {
      cniVersion: "1.1.0",
      code: 7,
      msg: "missing network name",
    },
  );
  const bad = JSON.parse(
    (await run(ADD_ENV, '{"cniVersion":"1.0.0","name":"a b","deviceID":"0000:3b:00.1"}')).stdout,
  );
  assert.equal(bad.code, 7);
  assert.equal(bad.msg, 'invalid characters found in network name "a b"');
});

Deno.test("dispatch() refuses unknown versions and gates CHECK, STATUS and GC by version", async () => {
  const unknown = JSON.parse((await run(ADD_ENV, '{"cniVersion":"9.9.9","name":"n"}')).stdout);
  assert.equal(unknown.code, 1);
  const cases: [string, string, string][] = [
    [
      "CHECK",
      "0.3.1",
      'config version does not allow CHECK: cniVersion "0.3.1", needs 0.4.0 or later',
    ],
    [
      "STATUS",
      "1.0.0",
      'config version does not allow STATUS: cniVersion "1.0.0", needs 1.1.0 or later',
    ],
    ["GC", "1.0.0", 'config version does not allow GC: cniVersion "1.0.0", needs 1.1.0 or later'],
  ];
  for (const [command, version, msg] of cases) {
    const r = await run(
      { ...ADD_ENV, CNI_COMMAND: command },
      JSON.stringify({ cniVersion: version, name: "n" }),
    );
    assert.equal(r.status, 1);
    assert.deepEqual(JSON.parse(r.stdout), { cniVersion: version, code: 1, msg });
    assert.equal(r.calls.length, 0);
  }
  const ok = await run({ ...ADD_ENV, CNI_COMMAND: "GC" }, '{"cniVersion":"1.1.0","name":"n"}');
  assert.equal(ok.status, 0);
  assert.equal(ok.stdout, "");
});

Deno.test("dispatch() uses the highest common cniVersions entry when cniVersion is absent", async () => {
  const r = await run(
    ADD_ENV,
    '{"cniVersions":["0.3.1","1.0.0"],"name":"n","deviceID":"0000:3b:00.1"}',
  );
  assert.equal(JSON.parse(r.stdout).cniVersion, "1.0.0");
});

Deno.test("dispatch() passes a handler's CniError through and hides other errors' stacks", async () => {
  const failing = await run(
    ADD_ENV,
    '{"cniVersion":"1.0.0","name":"n","deviceID":"0000:3b:00.1"}',
    {
      add: () => Promise.reject(new CniError(11, "busy", { details: "retry" })),
    },
  );
  assert.equal(failing.status, 1);
  assert.equal(
    failing.stdout,
    JSON.stringify({ cniVersion: "1.0.0", code: 11, msg: "busy", details: "retry" }, null, 4) +
      "\n",
  );
  const crashing = await run(
    { ...ADD_ENV, CNI_COMMAND: "DEL" },
    '{"cniVersion":"1.0.0","name":"n"}',
    {
      del: () => Promise.reject(new TypeError("x is undefined")),
    },
  );
  const err = JSON.parse(crashing.stdout);
  assert.deepEqual(err, {
    cniVersion: "1.0.0",
    code: 999,
    msg: "x is undefined",
    details: "TypeError",
  });
  assert.doesNotMatch(crashing.stdout + crashing.stderr, /at .*\.ts:\d+/);
});

Deno.test("dispatch() reports environment errors before reading the config", async () => {
  const r = await run({ CNI_COMMAND: "ADD" }, "garbage");
  assert.equal(JSON.parse(r.stdout).code, 4);
  assert.equal(
    JSON.parse(r.stdout).msg,
    "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing",
  );
});
