import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CniError } from "../../../lib/cni/errors.ts";
import { ipamErrorToCni } from "../../../lib/plugin/to_cni_error.ts";
import { ExecIpam } from "../../../lib/ipam/exec_ipam.ts";
import type { IpamRequest } from "../../../lib/ipam/ipam.ts";
import { IpamError } from "../../../lib/ipam/ipam_error.ts";
import { LibcError } from "../../../ffi/errno.ts";
import { PERMISSION_FLAGS } from "../../../tools/permissions.ts";

const FIXTURES = new URL("../../fixtures/ipam/", import.meta.url);
const CONFIG = { cniVersion: "1.0.0", name: "ib-net", type: "ib-sriov", ipam: { type: "x" } };

/** A temp dir with every fake plugin, executable whatever mode the checkout gave them. */
async function pluginDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ipam-fixtures-" });
  for await (const entry of Deno.readDir(FIXTURES)) {
    const target = join(dir, entry.name);
    await Deno.copyFile(new URL(entry.name, FIXTURES), target);
    await Deno.chmod(target, 0o755);
  }
  return dir;
}

function request(type: string, cniPath: string, extra: Partial<IpamRequest> = {}): IpamRequest {
  return {
    command: "ADD",
    type,
    env: {
      CNI_CONTAINERID: "c1",
      CNI_NETNS: "/var/run/netns/pod1",
      CNI_IFNAME: "net1",
      CNI_PATH: cniPath,
    },
    stdin: new TextEncoder().encode(JSON.stringify(CONFIG)),
    ...extra,
  };
}

async function rejectsWith(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail("expected a rejection");
}

Deno.test("ExecIpam.exec() runs the plugin from the first CNI_PATH dir that has it", async () => {
  const dir = await pluginDir();
  const empty = await Deno.makeTempDir();
  const cniPath = `/nonexistent-cni-dir::${empty}:${dir}`;
  const out = await new ExecIpam().exec(request("echo-env", cniPath));
  assert.ok(typeof out === "object" && out !== null);
  const { command, containerId, stdin } = out as Record<string, unknown>;
  assert.deepEqual({ command, containerId, stdin }, {
    command: "ADD",
    containerId: "c1",
    stdin: CONFIG,
  });
});

Deno.test("ExecIpam.exec() gives the delegate the plugin's whole environment with CNI_COMMAND overridden, as libcni does", async () => {
  const dir = await pluginDir();
  // The plugin's environment as a runtime gives it: the CNI variables, PATH, and variables our
  // plugin never reads, which an IPAM plugin such as whereabouts or a site's own may need.
  const pluginEnv: Record<string, string> = {
    PATH: `${dirname(Deno.execPath())}:/usr/bin:/bin`,
    CNI_COMMAND: "CHECK",
    CNI_CONTAINERID: "c1",
    CNI_NETNS: "/var/run/netns/pod1",
    CNI_IFNAME: "net1",
    CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=pod-a",
    CNI_PATH: `/nonexistent-cni-dir:${dir}`,
    KUBERNETES_SERVICE_HOST: "10.96.0.1",
    SITE_IPAM_TOKEN: "a b=c;d",
    NO_COLOR: "1",
  };
  for (const name of ["HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) pluginEnv[name] = value;
  }
  // The child runs under the production permission flags: its `--allow-env` covers only
  // CNI_*, and the delegate must still get everything.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--quiet",
      ...PERMISSION_FLAGS,
      fileURLToPath(new URL("./_delegate_child.ts", import.meta.url)),
      "ADD",
      "record",
    ],
    clearEnv: true,
    env: pluginEnv,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const config = new TextEncoder().encode(JSON.stringify(CONFIG));
  const writer = child.stdin.getWriter();
  await writer.write(config);
  await writer.close();
  const out = await child.output();
  assert.equal(new TextDecoder().decode(out.stderr), "");
  assert.equal(out.code, 0);

  const recorded = await Deno.readTextFile(join(dir, "record.ADD.env"));
  const delegateEnv = Object.fromEntries(
    recorded.split("\0").filter((entry) => entry !== "").map((entry) => {
      const eq = entry.indexOf("=");
      return [entry.slice(0, eq), entry.slice(eq + 1)];
    }),
  );
  // dash exports PWD when it starts; it is the shell's, not ours.
  delete delegateEnv["PWD"];
  assert.deepEqual(delegateEnv, { ...pluginEnv, CNI_COMMAND: "ADD" });
  assert.deepEqual(await Deno.readFile(join(dir, "record.ADD.stdin")), config);
});

Deno.test("ExecIpam.exec() returns null when the delegate prints nothing", async () => {
  const dir = await pluginDir();
  assert.equal(await new ExecIpam().exec(request("echo-env", dir, { command: "DEL" })), null);
});

Deno.test("ExecIpam.exec() throws the delegate's own code, msg and details", async () => {
  const dir = await pluginDir();
  const err = await rejectsWith(new ExecIpam().exec(request("fail-json", dir)));
  assert.ok(err instanceof IpamError);
  assert.equal(err.kind, "reported");
  assert.equal(err.code, 11);
  assert.equal(err.msg, "no IP addresses available in range set");
  assert.equal(err.details, "10.0.0.1-10.0.0.2");
  assert.equal(err.pluginType, "fail-json");
  assert.equal(
    err.message,
    'IPAM plugin "fail-json" ADD failed: no IP addresses available in range set',
  );
  const cni = ipamErrorToCni(err);
  assert.ok(cni instanceof CniError);
  assert.deepEqual(cni.toJSON(), {
    code: 11,
    msg: 'IPAM plugin "fail-json" ADD failed: no IP addresses available in range set',
    details: "10.0.0.1-10.0.0.2",
  });
});

Deno.test("ExecIpam.exec() reports a crash without an error object as code 102 with the output", async () => {
  const dir = await pluginDir();
  const err = await rejectsWith(new ExecIpam().exec(request("garbage", dir)));
  assert.ok(err instanceof IpamError);
  assert.equal(err.kind, "bad-output");
  assert.equal(ipamErrorToCni(err).code, 102);
  assert.equal(
    err.message,
    'IPAM plugin "garbage" ADD failed: ended with exit status 2 and no error object',
  );
  assert.equal(
    err.details,
    "panic: runtime error: index out of range\ngoroutine 1 [running]:",
  );
});

Deno.test("ExecIpam.exec() reports a silent failure as code 102 with empty details", async () => {
  const dir = await pluginDir();
  const err = await rejectsWith(
    new ExecIpam().exec(request("silent-fail", dir, { command: "DEL" })),
  );
  assert.ok(err instanceof IpamError);
  assert.equal(err.kind, "bad-output");
  assert.equal(ipamErrorToCni(err).code, 102);
  assert.equal(
    err.message,
    'IPAM plugin "silent-fail" DEL failed: ended with exit status 1 and no error object',
  );
  assert.equal(err.details, "");
});

Deno.test("ExecIpam.exec() rejects invalid JSON printed on success with code 102", async () => {
  const dir = await pluginDir();
  const err = await rejectsWith(new ExecIpam().exec(request("bad-json", dir)));
  assert.ok(err instanceof IpamError);
  assert.equal(err.kind, "bad-output");
  assert.equal(ipamErrorToCni(err).code, 102);
  assert.equal(err.message, 'IPAM plugin "bad-json" ADD failed: printed invalid JSON');
  assert.equal(err.details, '{"ips": [');
  assert.ok(err.cause instanceof SyntaxError);
});

Deno.test("ExecIpam.exec() bounds the raw output in details to 4 KiB", async () => {
  const dir = await Deno.makeTempDir();
  const script = join(dir, "chatty");
  await Deno.writeTextFile(
    script,
    "#!/bin/sh\ni=0\nwhile [ $i -lt 100 ]; do printf '%0100d' 0; i=$((i+1)); done\nexit 3\n",
  );
  await Deno.chmod(script, 0o755);
  const err = await rejectsWith(new ExecIpam().exec(request("chatty", dir)));
  assert.ok(err instanceof IpamError);
  assert.equal(err.kind, "bad-output");
  assert.equal(ipamErrorToCni(err).code, 102);
  assert.equal(err.details, `${"0".repeat(4096)}… (10000 chars)`);
});

Deno.test("ExecIpam.exec() throws code 102 naming type and CNI_PATH when the plugin is missing", async () => {
  const dir = await pluginDir();
  const err = await rejectsWith(new ExecIpam().exec(request("nope", `${dir}:/nonexistent`)));
  assert.ok(err instanceof IpamError);
  assert.equal(err.kind, "not-found");
  assert.equal(ipamErrorToCni(err).code, 102);
  assert.equal(err.message, `IPAM plugin "nope" not found in CNI_PATH "${dir}:/nonexistent"`);

  const unset = request("nope", "");
  delete unset.env["CNI_PATH"];
  const none = await rejectsWith(new ExecIpam().exec(unset));
  assert.ok(none instanceof IpamError);
  assert.equal(none.message, 'IPAM plugin "nope" not found in CNI_PATH ""');
});

Deno.test("ExecIpam.exec() stops at the first file found even when it cannot run", async () => {
  const first = await Deno.makeTempDir();
  await Deno.writeTextFile(join(first, "echo-env"), "#!/bin/sh\n");
  await Deno.chmod(join(first, "echo-env"), 0o644);
  const dir = await pluginDir();
  const err = await rejectsWith(new ExecIpam().exec(request("echo-env", `${first}:${dir}`)));
  assert.ok(err instanceof IpamError);
  assert.equal(err.kind, "cannot-run");
  assert.equal(ipamErrorToCni(err).code, 102);
  assert.match(
    err.message,
    new RegExp(`^Cannot run IPAM plugin "${first}/echo-env": .*Permission denied`),
  );
  assert.ok(err.cause instanceof LibcError && err.cause.errnoName === "EACCES");
});

Deno.test("ExecIpam.exec() rejects an ipam.type that is not a plain file name with code 7", async () => {
  const dir = await pluginDir();
  for (const type of ["", ".", "..", "../echo-env", "sub/echo-env", "/bin/true", "echo\0env"]) {
    const err = await rejectsWith(new ExecIpam().exec(request(type, dir)));
    assert.ok(err instanceof IpamError, `type ${JSON.stringify(type)}`);
    assert.equal(err.kind, "invalid-type");
    assert.equal(err.message, `invalid ipam.type ${JSON.stringify(type)}`);
    assert.deepEqual(ipamErrorToCni(err).toJSON(), {
      code: 7,
      msg: `invalid ipam.type ${JSON.stringify(type)}`,
      details: "ipam.type must be the file name of a plugin in CNI_PATH",
    });
  }
});

Deno.test("ExecIpam.exec() kills a delegate that outlives the timeout and throws code 11", async () => {
  const dir = await pluginDir();
  const ipam = new ExecIpam({ timeoutMs: 100 });
  const err = await rejectsWith(ipam.exec(request("hang", dir)));
  assert.ok(err instanceof IpamError);
  assert.equal(err.kind, "timed-out");
  assert.equal(ipamErrorToCni(err).code, 11);
  assert.equal(err.message, 'IPAM plugin "hang" ADD failed: timed out after 100 ms; killed');
});

Deno.test("ExecIpam.exec() times out when a grandchild keeps stdout open after the exit", async () => {
  const dir = await Deno.makeTempDir();
  const script = join(dir, "orphan");
  // The background sleep inherits stdout, so the pipe stays open after the plugin exits 0.
  await Deno.writeTextFile(script, "#!/bin/sh\nsleep 2 &\necho '{}'\nexit 0\n");
  await Deno.chmod(script, 0o755);
  const ipam = new ExecIpam({ timeoutMs: 100 });
  const err = await rejectsWith(ipam.exec(request("orphan", dir)));
  assert.ok(err instanceof IpamError);
  assert.equal(err.kind, "timed-out");
  assert.equal(ipamErrorToCni(err).code, 11);
  assert.equal(err.message, 'IPAM plugin "orphan" ADD failed: timed out after 100 ms; killed');
});

/** A delegate in a temp dir of its own, from its shell script. */
async function scriptDir(name: string, script: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ipam-script-" });
  await Deno.writeTextFile(join(dir, name), `#!/bin/sh\n${script}`);
  await Deno.chmod(join(dir, name), 0o755);
  return dir;
}

Deno.test("ExecIpam.exec() feeds a large config to a delegate that prints a large output first, without deadlock", async () => {
  // 300 KB out before reading 200 KB in: both pipes fill up unless the two are interleaved.
  const dir = await scriptDir(
    "chatty",
    "head -c 300000 /dev/zero | tr '\\0' x\nwc -c >&2 </dev/stdin >/dev/null\nexit 3\n",
  );
  const stdin = new TextEncoder().encode(" ".repeat(200_000));
  const ipam = new ExecIpam();
  const err = await rejectsWith(ipam.exec(request("chatty", dir, { stdin })));
  assert.ok(err instanceof IpamError);
  assert.equal(err.kind, "bad-output");
  assert.equal(ipamErrorToCni(err).code, 102);
  assert.equal(
    err.message,
    'IPAM plugin "chatty" ADD failed: ended with exit status 3 and no error object',
  );
  assert.equal(err.details, `${"x".repeat(4096)}… (300000 chars)`);
});

Deno.test("ExecIpam.exec() starts the delegate with SIGPIPE at its default action and no signal blocked", async () => {
  // Deno ignores SIGPIPE, and an ignored signal would stay ignored across exec. awk reads its own
  // status (exec): the shell's would show the signals it blocks while it waits for a child.
  const dir = await scriptDir(
    "signals",
    `exec awk '/^Sig(Ign|Blk)/ { printf "%s\\"%s\\":\\"%s\\"", n++ ? "," : "{", $1, $2 } END { print "}" }' /proc/self/status\n`,
  );
  const out = await new ExecIpam().exec(request("signals", dir)) as {
    "SigBlk:": string;
    "SigIgn:": string;
  };
  const SIGPIPE_BIT = 1n << 12n;
  assert.equal(BigInt(`0x${out["SigIgn:"]}`) & SIGPIPE_BIT, 0n);
  assert.equal(BigInt(`0x${out["SigBlk:"]}`), 0n);
});

Deno.test("ExecIpam.exec() names the signal a delegate died of", async () => {
  const dir = await scriptDir("crash", "echo 'segfault' >&1\nkill -SEGV $$\n");
  const err = await rejectsWith(
    new ExecIpam().exec(request("crash", dir)),
  );
  assert.ok(err instanceof IpamError);
  assert.equal(err.kind, "bad-output");
  assert.equal(ipamErrorToCni(err).code, 102);
  assert.equal(
    err.message,
    'IPAM plugin "crash" ADD failed: ended with signal SIGSEGV and no error object',
  );
  assert.equal(err.details, "segfault");
});

const HOST_LOCAL_DIR = "/usr/lib/cni";

Deno.test({
  name: "ExecIpam.exec() runs the real host-local: ADD leases an IP in the subnet, DEL frees it",
  ignore: !exists(join(HOST_LOCAL_DIR, "host-local")),
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "host-local-" });
    const config = {
      cniVersion: "1.0.0",
      name: "ib-net",
      type: "ib-sriov",
      ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.77.0.0/24" }]] },
    };
    const stdin = new TextEncoder().encode(JSON.stringify(config));
    const ipam = new ExecIpam();
    const add = request("host-local", `/nonexistent:${HOST_LOCAL_DIR}`, { stdin });
    const result = await ipam.exec(add) as { ips?: { address?: string }[] };
    const address = result.ips?.[0]?.address ?? "";
    assert.match(address, /^10\.77\.0\.\d+\/24$/);
    const ip = address.split("/")[0] ?? "";
    const lease = join(dataDir, "ib-net", ip);
    assert.equal((await Deno.readTextFile(lease)).split(/\r?\n/)[0], "c1");

    assert.equal(await ipam.exec({ ...add, command: "DEL" }), null);
    assert.equal(exists(lease), false, "DEL must free the lease");
  },
});

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
