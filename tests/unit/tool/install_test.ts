import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { StateError } from "../../../lib/state/state_error.ts";
import { FsInstaller } from "../../../lib/tool/installer.ts";
import { installSource, pointShebangAt, runInstall } from "../../../lib/tool/install.ts";
import { runTool } from "../../../lib/tool/main.ts";
import { shebangLine } from "../../../tools/permissions.ts";
import { testIo } from "./_tool_io.ts";

const BODY = "console.log('the plugin');\n";

/** A bundle and a runtime to install from, and an empty CNI bin dir. */
async function sources(): Promise<
  { script: string; runtime: string; dir: string; root: string } & AsyncDisposable
> {
  const root = await Deno.makeTempDir({ prefix: "install-" });
  const script = join(root, "ib-sriov.js");
  await Deno.writeTextFile(script, `${shebangLine()}\n${BODY}`);
  const runtime = join(root, "deno");
  // Larger than one copy chunk, so the copy loop runs more than once.
  await Deno.writeFile(runtime, new Uint8Array(2_500_000).map((_, i) => i % 251));
  const dir = join(root, "cni-bin");
  await Deno.mkdir(dir);
  return {
    script,
    runtime,
    dir,
    root,
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

function bundleProgram(s: { script: string; runtime: string }) {
  return { standalone: false, mainModule: pathToFileURL(s.script).href, execPath: s.runtime };
}

/** A test I/O for the bundle whose waitForSignal() answers `signal` and records that it ran. */
function signalIo(s: { script: string; runtime: string }, signal = "SIGTERM") {
  let waited = false;
  const t = testIo({
    program: bundleProgram(s),
    waitForSignal: () => {
      waited = true;
      return Promise.resolve(signal);
    },
  });
  return { ...t, waited: () => waited };
}

async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    names.push(e.isDirectory ? `${e.name}/` : e.name);
    if (e.isDirectory) {
      for await (const f of Deno.readDir(join(dir, e.name))) names.push(`${e.name}/${f.name}`);
    }
  }
  return names.sort();
}

function logLines(stderr: string): Record<string, unknown>[] {
  return stderr.trimEnd().split("\n").map((line) => JSON.parse(line));
}

Deno.test("install puts the runtime in ib-sriov.d and the bundle, pointed at it, as ib-sriov", async () => {
  await using s = await sources();
  const t = testIo({ program: bundleProgram(s) });
  assert.equal(await runInstall(["--cni-bin-dir", s.dir, "--no-sleep"], t.io), 0);
  assert.deepEqual(await listing(s.dir), ["ib-sriov", "ib-sriov.d/", "ib-sriov.d/deno"]);
  const plugin = await Deno.readTextFile(join(s.dir, "ib-sriov"));
  assert.equal(
    plugin,
    `${shebangLine("/opt/cni/bin/ib-sriov.d/deno")}\n${BODY}`,
  );
  assert.deepEqual(
    await Deno.readFile(join(s.dir, "ib-sriov.d/deno")),
    await Deno.readFile(s.runtime),
  );
  for (const file of ["ib-sriov", "ib-sriov.d/deno", "ib-sriov.d"]) {
    assert.equal((await Deno.stat(join(s.dir, file))).mode! & 0o777, 0o755, file);
  }
  const lines = logLines(t.stderr());
  assert.deepEqual(lines.map((l) => [l.level, l.msg, l.to ?? l.path]), [
    ["info", "installing", join(s.dir, "ib-sriov.d/deno")],
    ["info", "installing", join(s.dir, "ib-sriov")],
    ["info", "installed", join(s.dir, "ib-sriov")],
  ]);
  assert.ok(lines.every((l) => l.cniBinDir === s.dir && typeof l.time === "string"));
  assert.equal(t.stdout(), "");
});

Deno.test("install twice leaves the same files and no temp file", async () => {
  await using s = await sources();
  for (let i = 0; i < 2; i++) {
    const t = testIo({ program: bundleProgram(s) });
    assert.equal(await runInstall(["--cni-bin-dir", s.dir, "--no-sleep"], t.io), 0);
  }
  assert.deepEqual(await listing(s.dir), ["ib-sriov", "ib-sriov.d/", "ib-sriov.d/deno"]);
  assert.deepEqual(
    await Deno.readFile(join(s.dir, "ib-sriov.d/deno")),
    await Deno.readFile(s.runtime),
  );
});

Deno.test("install --host-cni-bin-dir names the runtime by the node's path", async () => {
  await using s = await sources();
  const t = testIo({ program: bundleProgram(s) });
  const args = ["--cni-bin-dir", s.dir, "--host-cni-bin-dir", "/usr/libexec/cni", "--no-sleep"];
  assert.equal(await runInstall(args, t.io), 0);
  const first = (await Deno.readTextFile(join(s.dir, "ib-sriov"))).split("\n")[0]!;
  assert.equal(first, shebangLine("/usr/libexec/cni/ib-sriov.d/deno"));
});

Deno.test("install of the compiled binary copies that one file", async () => {
  await using s = await sources();
  const t = testIo({
    program: {
      standalone: true,
      mainModule: "file:///tmp/deno-compile-ib-sriov/cli.ts",
      execPath: s.runtime,
    },
  });
  assert.equal(await runInstall(["--cni-bin-dir", s.dir, "--no-sleep"], t.io), 0);
  assert.deepEqual(await listing(s.dir), ["ib-sriov"]);
  assert.deepEqual(await Deno.readFile(join(s.dir, "ib-sriov")), await Deno.readFile(s.runtime));
  assert.equal((await Deno.stat(join(s.dir, "ib-sriov"))).mode! & 0o777, 0o755);
});

Deno.test("install into a missing directory exits 1 naming it, and writes nothing", async () => {
  await using s = await sources();
  const dir = join(s.root, "absent");
  const t = testIo({ program: bundleProgram(s) });
  assert.equal(await runInstall(["--cni-bin-dir", dir, "--no-sleep"], t.io), 1);
  const [line, ...rest] = logLines(t.stderr());
  assert.deepEqual(rest, []);
  assert.equal(line!.level, "error");
  assert.equal(
    line!.msg,
    `Cannot install into "${dir}": the directory does not exist (mount the host's CNI bin directory there, or pass --cni-bin-dir)`,
  );
  assert.deepEqual(await listing(s.root), ["cni-bin/", "deno", "ib-sriov.js"]);
});

Deno.test("install run from source exits 1: only the bundle or the binary can be installed", async () => {
  await using s = await sources();
  const t = testIo({
    program: { standalone: false, mainModule: "file:///src/cli.ts", execPath: s.runtime },
  });
  assert.equal(await runInstall(["--cni-bin-dir", s.dir, "--no-sleep"], t.io), 1);
  assert.equal(
    logLines(t.stderr())[0]!.msg,
    'Cannot install from "file:///src/cli.ts": run install from the bundle (make bundle) or the compiled binary (make build)',
  );
  assert.deepEqual(await listing(s.dir), []);
});

Deno.test("install with a host dir too long for the #! line exits 1 and installs nothing", async () => {
  await using s = await sources();
  const host = `/${"h".repeat(100)}`;
  const t = testIo({ program: bundleProgram(s) });
  const args = ["--cni-bin-dir", s.dir, "--host-cni-bin-dir", host, "--no-sleep"];
  assert.equal(await runInstall(args, t.io), 1);
  const bytes = new TextEncoder().encode(shebangLine()).length - "deno".length +
    `${host}/ib-sriov.d/deno`.length;
  assert.equal(
    logLines(t.stderr())[0]!.msg,
    `Cannot install "${s.script}": the plugin's #! line would be ${bytes} bytes with the runtime at "${host}/ib-sriov.d/deno", and Linux reads only 255: use a shorter --host-cni-bin-dir`,
  );
  assert.deepEqual(await listing(s.dir), []);
});

Deno.test("install refuses a host dir that env -S would split, with usage status 2", async () => {
  await using s = await sources();
  const t = testIo({ program: bundleProgram(s) });
  const status = await runTool(
    ["install", "--cni-bin-dir", s.dir, "--host-cni-bin-dir", "/opt/my cni", "--no-sleep"],
    t.io,
  );
  assert.equal(status, 2);
  assert.ok(
    t.stderr().startsWith(
      'ib-sriov install: --host-cni-bin-dir "/opt/my cni": expected an absolute path without blanks, quotes, "\\" or "$"\n',
    ),
    t.stderr(),
  );
  assert.deepEqual(await listing(s.dir), []);
});

Deno.test("install without --no-sleep waits for a signal, then exits 0", async () => {
  await using s = await sources();
  const t = signalIo(s);
  assert.equal(await runInstall(["--cni-bin-dir", s.dir], t.io), 0);
  assert.ok(t.waited());
  const lines = logLines(t.stderr());
  assert.deepEqual(lines.slice(-2).map((l) => [l.msg, l.signal]), [
    ["waiting for SIGTERM or SIGINT", undefined],
    ["exiting", "SIGTERM"],
  ]);
});

Deno.test("install names the reason of a failed write by its errno", async () => {
  await using s = await sources();
  const cases: [string, string][] = [
    ["EROFS", "the file system is read-only (mount the host's CNI bin directory read-write)"],
    ["ENOSPC", "no space left on the device"],
    ["EACCES", "permission denied (the installer must run as root)"],
  ];
  for (const [code, reason] of cases) {
    const real = new FsInstaller();
    const t = testIo({
      program: bundleProgram(s),
      installer: () => ({
        isDirectory: (p) => real.isDirectory(p),
        readFile: (p) => real.readFile(p),
        makeDir: (p) => real.makeDir(p),
        writeFile: (path) => {
          const cause = Object.assign(new Error(`${code} (os error)`), { code });
          throw new StateError("io", path, `Cannot write "${path}.tmp-1": ${cause.message}`, {
            cause,
          });
        },
      }),
    });
    assert.equal(await runInstall(["--cni-bin-dir", s.dir, "--no-sleep"], t.io), 1);
    assert.equal(logLines(t.stderr()).at(-1)!.msg, `Cannot install into "${s.dir}": ${reason}`);
  }
});

Deno.test("install that cannot rename leaves the old file and no temp file", async () => {
  await using s = await sources();
  // A directory where the plugin goes: the rename over it fails after the temp file is written.
  await Deno.mkdir(join(s.dir, "ib-sriov/keep"), { recursive: true });
  const t = testIo({ program: bundleProgram(s) });
  assert.equal(await runInstall(["--cni-bin-dir", s.dir, "--no-sleep"], t.io), 1);
  const plugin = join(s.dir, "ib-sriov");
  const tmp = `${plugin}.tmp-${Deno.pid}`;
  assert.equal(
    logLines(t.stderr()).at(-1)!.msg,
    `Cannot install into "${s.dir}": Cannot rename "${tmp}" to "${plugin}": Is a directory (os error 21): rename '${tmp}' -> '${plugin}'`,
  );
  assert.deepEqual(await listing(s.dir), [
    "ib-sriov.d/",
    "ib-sriov.d/deno",
    "ib-sriov/",
    "ib-sriov/keep",
  ]);
});

Deno.test("install: a concurrent reader sees the old plugin or the new one, never a mix", async () => {
  await using s = await sources();
  const plugin = join(s.dir, "ib-sriov");
  // Two bundles that differ in every chunk, large enough that a copy takes many writes.
  const bodies = ["a", "b"].map((c) => `${c.repeat(4_000_000)}\n`);
  const reader = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const path = ${JSON.stringify(plugin)}; const seen = new Set();
       const stop = Date.now() + 1500;
       while (Date.now() < stop) {
         try { const t = Deno.readTextFileSync(path); seen.add(t.length + ":" + t.slice(-2)); }
         catch {}
       }
       console.log(JSON.stringify([...seen]));`,
    ],
    stdout: "piped",
  }).spawn();
  const deadline = Date.now() + 1200;
  for (let i = 0; Date.now() < deadline; i++) {
    await Deno.writeTextFile(s.script, `${shebangLine()}\n${bodies[i % 2]}`);
    const t = testIo({ program: bundleProgram(s) });
    assert.equal(await runInstall(["--cni-bin-dir", s.dir, "--no-sleep"], t.io), 0);
  }
  const out = await reader.output();
  const seen: string[] = JSON.parse(new TextDecoder().decode(out.stdout));
  const length = new TextEncoder().encode(
    `${pointShebangAtText()}\n${bodies[0]}`,
  ).length;
  assert.ok(seen.length > 0);
  for (const entry of seen) assert.ok([`${length}:a\n`, `${length}:b\n`].includes(entry), entry);
  assert.deepEqual((await listing(s.dir)).filter((n) => n.includes(".tmp-")), []);
});

/** The bundle's first line as install rewrites it for the default host dir. */
function pointShebangAtText(): string {
  const bytes = pointShebangAt(
    new TextEncoder().encode(`${shebangLine()}\n`),
    "/opt/cni/bin/ib-sriov.d/deno",
  );
  return new TextDecoder().decode(bytes).trimEnd();
}

Deno.test("installSource() tells the bundle, the compiled binary and a run from source", () => {
  assert.deepEqual(
    installSource({
      standalone: false,
      mainModule: "file:///opt/x%20y/ib-sriov.js",
      execPath: "/usr/bin/deno",
    }),
    { kind: "bundle", script: "/opt/x y/ib-sriov.js", runtime: "/usr/bin/deno" },
  );
  assert.deepEqual(
    installSource({
      standalone: true,
      mainModule: "file:///tmp/x/cli.ts",
      execPath: "/usr/bin/ib-sriov",
    }),
    { kind: "binary", binary: "/usr/bin/ib-sriov" },
  );
  assert.equal(
    installSource({
      standalone: false,
      mainModule: "file:///src/cli.ts",
      execPath: "/usr/bin/deno",
    }),
    null,
  );
});

Deno.test("pointShebangAt() refuses a file that is not the bundle", () => {
  assert.throws(
    () =>
      pointShebangAt(
        new TextEncoder().encode("#!/bin/sh\necho hi\n"),
        "/opt/cni/bin/ib-sriov.d/deno",
      ),
    (err: unknown) =>
      err instanceof Error &&
      err.message ===
        'the bundle does not start with "#!/usr/bin/env -S [NAME=value ...] deno " (rebuild it with make bundle)',
  );
});

Deno.test("install exits 1 naming the reason when the directory cannot even be looked at", async () => {
  await using s = await sources();
  const real = new FsInstaller();
  const t = testIo({
    program: bundleProgram(s),
    installer: () => ({
      isDirectory: (path) => {
        const cause = Object.assign(new Error("Permission denied (os error 13)"), {
          code: "EACCES",
        });
        throw new StateError("io", path, `Cannot stat "${path}": ${cause.message}`, { cause });
      },
      readFile: (p) => real.readFile(p),
      makeDir: (p) => real.makeDir(p),
      writeFile: (p, c, m) => real.writeFile(p, c, m),
    }),
  });
  assert.equal(await runInstall(["--cni-bin-dir", s.dir, "--no-sleep"], t.io), 1);
  assert.equal(
    logLines(t.stderr()).at(-1)!.msg,
    `Cannot install into "${s.dir}": permission denied (the installer must run as root)`,
  );
  assert.deepEqual(await listing(s.dir), []);
});

Deno.test("install takes every form of its flags that Go's flag package takes", async () => {
  await using s = await sources();
  const own = s.script;
  const forms: string[][] = [
    ["-cni-bin-dir", s.dir, "-no-sleep"],
    ["--cni-bin-dir", s.dir, "--no-sleep"],
    [`-cni-bin-dir=${s.dir}`, "-no-sleep=true"],
    [`--cni-bin-dir=${s.dir}`, "--no-sleep=1"],
    ["-no-sleep=t", "-cni-bin-dir", s.dir],
    ["-no-sleep=T", "-no-sleep=TRUE", "-no-sleep=True", "-cni-bin-dir", s.dir],
    // Repeated: the last one counts, as in Go.
    ["-cni-bin-dir", "/nonexistent", "--cni-bin-dir", s.dir, "-no-sleep"],
    ["-cni-bin-dir", s.dir, "-no-sleep", "--"],
    ["-cni-bin-dir", s.dir, "-ib-sriov-cni-bin-file", own, "-no-sleep"],
    ["-cni-bin-dir", s.dir, `--ib-sriov-cni-bin-file=${own}`, "-no-sleep"],
    ["-cni-bin-dir", s.dir, "-host-cni-bin-dir=/usr/libexec/cni", "-no-sleep"],
  ];
  for (const args of forms) {
    const t = signalIo(s);
    assert.equal(await runTool(["install", ...args], t.io), 0, `${args.join(" ")}: ${t.stderr()}`);
    assert.equal(t.waited(), false, args.join(" "));
    assert.equal(logLines(t.stderr()).at(-1)!.path, join(s.dir, "ib-sriov"), args.join(" "));
    const host = args.includes("-host-cni-bin-dir=/usr/libexec/cni")
      ? "/usr/libexec/cni"
      : "/opt/cni/bin";
    const first = (await Deno.readTextFile(join(s.dir, "ib-sriov"))).split("\n")[0]!;
    assert.equal(first, shebangLine(`${host}/ib-sriov.d/deno`), args.join(" "));
  }
});

Deno.test("install with -no-sleep=false in each of Go's spellings waits for a signal", async () => {
  await using s = await sources();
  for (const word of ["false", "0", "f", "F", "FALSE", "False"]) {
    for (const args of [[`-no-sleep=${word}`], ["--no-sleep", `--no-sleep=${word}`]]) {
      const t = signalIo(s, "SIGINT");
      assert.equal(await runInstall(["-cni-bin-dir", s.dir, ...args], t.io), 0);
      assert.equal(t.waited(), true, args.join(" "));
    }
  }
});

Deno.test("install refuses what Go's flag package refuses, and any argument that is not a flag, with status 2", async () => {
  await using s = await sources();
  const flags =
    "install takes -cni-bin-dir, -host-cni-bin-dir, -ib-sriov-cni-bin-file and -no-sleep, with one dash or two";
  const cases: [string[], string][] = [
    [["-c", s.dir], `unknown flag "-c": ${flags}`],
    [["--cni-conf-dir=/host/etc/cni/net.d"], `unknown flag "--cni-conf-dir": ${flags}`],
    [["-h"], `unknown flag "-h": ${flags}`],
    [["---cni-bin-dir", s.dir], 'bad flag syntax: "---cni-bin-dir"'],
    [["-=x"], 'bad flag syntax: "-=x"'],
    [["--no-sleep", "-cni-bin-dir"], 'flag "-cni-bin-dir" needs a value'],
    [
      ["-no-sleep=yes"],
      'flag "-no-sleep" takes 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False, not "yes"',
    ],
    // Go stops at "false" and ignores it: a boolean takes its value only after "=".
    [["-no-sleep", "false"], 'unexpected argument "false": install takes only flags'],
    [[s.dir, "-no-sleep"], `unexpected argument "${s.dir}": install takes only flags`],
    [["-", "-no-sleep"], 'unexpected argument "-": install takes only flags'],
    [["--", "-no-sleep"], 'unexpected argument "-no-sleep": install takes only flags'],
    [
      ["-cni-bin-dir", s.dir, "--ib-sriov-cni-bin-file", "/usr/bin/ib-sriov"],
      `--ib-sriov-cni-bin-file "/usr/bin/ib-sriov": install copies only the plugin it runs from, "${s.script}"; leave the flag out`,
    ],
  ];
  for (const [args, message] of cases) {
    const t = testIo({ program: bundleProgram(s) });
    assert.equal(await runTool(["install", ...args], t.io), 2, args.join(" "));
    assert.equal(
      t.stderr(),
      `ib-sriov install: ${message}\nRun "ib-sriov help" for usage.\n`,
      args.join(" "),
    );
    assert.equal(t.stdout(), "");
  }
  assert.deepEqual(await listing(s.dir), []);
});

Deno.test("install --ib-sriov-cni-bin-file of the compiled binary is its own path", async () => {
  await using s = await sources();
  const program = { standalone: true, mainModule: "file:///tmp/x/cli.ts", execPath: s.runtime };
  const ok = testIo({ program });
  const args = ["--cni-bin-dir", s.dir, "--ib-sriov-cni-bin-file", s.runtime, "--no-sleep"];
  assert.equal(await runTool(["install", ...args], ok.io), 0, ok.stderr());
  const refused = testIo({ program });
  assert.equal(
    await runTool(["install", "--ib-sriov-cni-bin-file", s.script, "--no-sleep"], refused.io),
    2,
  );
  assert.equal(
    refused.stderr().split("\n")[0],
    `ib-sriov install: --ib-sriov-cni-bin-file "${s.script}": install copies only the plugin it runs from, "${s.runtime}"; leave the flag out`,
  );
});
