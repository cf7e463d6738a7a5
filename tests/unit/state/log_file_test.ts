import assert from "node:assert/strict";
import { join } from "node:path";
import { errnoName, LibcError } from "../../../ffi/errno.ts";
import { geteuid } from "../../../ffi/state_libc.ts";
import { openLogFile } from "../../../lib/state/log_file.ts";
import { StateError } from "../../../lib/state/state_error.ts";

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "log-file-" });
}

/** Asserts a log file's error; `errno` is the name of its `cause`'s errno, `null` for none. */
function assertLogFileError(
  fn: () => unknown,
  expected: { path: string; errno: string | null; rule?: string; message: string },
): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StateError, `expected StateError, got ${err}`);
    assert.equal(err.name, "StateError");
    assert.equal(err.code, "io");
    assert.equal(err.path, expected.path);
    assert.equal(
      err.cause instanceof LibcError ? errnoName(err.cause.errno) : null,
      expected.errno,
    );
    assert.equal(err.rule, expected.rule ?? "io");
    assert.equal(err.message, expected.message);
    return true;
  });
}

Deno.test("openLogFile() creates a missing file with mode 0600 and appends whole lines", async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, "ib-sriov.log");
    const file = openLogFile(dir, path);
    assert.equal(file.path, path);
    file.write('{"msg":"one"}\n');
    file.write('{"msg":"two é"}\n');
    file.close();
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(path), '{"msg":"one"}\n{"msg":"two é"}\n');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openLogFile() appends to an existing file and keeps its mode", async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, "ib-sriov.log");
    await Deno.writeTextFile(path, "earlier\n");
    await Deno.chmod(path, 0o640);
    const file = openLogFile(dir, path);
    file.write("later\n");
    file.close();
    assert.equal(await Deno.readTextFile(path), "earlier\nlater\n");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o640);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openLogFile() resolves a relative logFile beneath the directory", async () => {
  const dir = await tempDir();
  try {
    await Deno.mkdir(join(dir, "sub"));
    const file = openLogFile(dir, "sub/sriov.log");
    assert.equal(file.path, join(dir, "sub/sriov.log"));
    file.write("x\n");
    file.close();
    assert.equal(await Deno.readTextFile(join(dir, "sub/sriov.log")), "x\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openLogFile() does not create a missing directory: ENOENT naming the path", async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, "missing", "ib-sriov.log");
    assertLogFileError(() => openLogFile(dir, path), {
      path,
      errno: "ENOENT",
      rule: "missing",
      message: `Cannot open log file "${path}": No such file or directory`,
    });
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openLogFile() of a directory throws EISDIR naming the path and the rule", async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, "sub");
    await Deno.mkdir(path);
    assertLogFileError(() => openLogFile(dir, "sub"), {
      path,
      errno: "EISDIR",
      rule: "not-regular",
      message: `Cannot open log file "${path}": it is not a regular file`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openLogFile() of a FIFO without a reader throws ENXIO instead of blocking", async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, "fifo");
    const mkfifo = await new Deno.Command("mkfifo", { args: [path] }).output();
    assert.equal(mkfifo.code, 0);
    assertLogFileError(() => openLogFile(dir, path), {
      path,
      errno: "ENXIO",
      rule: "not-regular",
      message: `Cannot open log file "${path}": it is not a regular file`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openLogFile() refuses the process's stdout, whatever path names it", async () => {
  const dir = await tempDir();
  try {
    // A child whose stdout is a file: /dev/stdout then names that file.
    const stdoutPath = join(dir, "stdout");
    const script = [
      `import { openLogFile } from ${
        JSON.stringify(import.meta.resolve("../../../lib/state/log_file.ts"))
      };`,
      "try { openLogFile(Deno.args[0], 'stdout'); } catch (err) {",
      "  Deno.stderr.writeSync(new TextEncoder().encode(`${err.name} ${err.rule} ${err.message}`));",
      "}",
    ].join("\n");
    const child = await new Deno.Command("sh", {
      args: [
        "-c",
        `exec "$0" eval --allow-ffi "$1" "$2" > "$3"`,
        Deno.execPath(),
        script,
        dir,
        stdoutPath,
      ],
      stderr: "piped",
    }).output();
    assert.equal(child.code, 0);
    assert.equal(
      new TextDecoder().decode(child.stderr),
      `StateError io Cannot open log file "${stdoutPath}": ` +
        "it is the plugin's stdout, which carries the result",
    );
    assert.equal(await Deno.readTextFile(stdoutPath), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LogFile.write() after close() throws EBADF naming the path", async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, "ib-sriov.log");
    const file = openLogFile(dir, path);
    file.close();
    assertLogFileError(() => file.write("x\n"), {
      path,
      errno: "EBADF",
      message: `Cannot write log file "${path}": Bad file descriptor`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// /dev is root's: as another user the log directory check refuses it first (rule owner).
Deno.test({
  name: "openLogFile() refuses a device node such as /dev/full",
  ignore: geteuid() !== 0,
  fn() {
    assertLogFileError(() => openLogFile("/dev", "/dev/full"), {
      path: "/dev/full",
      errno: null,
      rule: "not-regular",
      message: 'Cannot open log file "/dev/full": it is not a regular file',
    });
  },
});

Deno.test("openLogFile() refuses an absolute logFile outside the log directory", async () => {
  const dir = await tempDir();
  try {
    assertLogFileError(() => openLogFile(dir, "/etc/ld.so.preload"), {
      path: "/etc/ld.so.preload",
      errno: null,
      rule: "name",
      message: `Cannot open log file "/etc/ld.so.preload": it must be beneath "${dir}/"`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LogFile.write() from two processes appending at once keeps every line whole", async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, "ib-sriov.log");
    const lines = 2000;
    // Long lines, so that a write that did not append atomically would show up as a torn line.
    const script = [
      `import { openLogFile } from ${
        JSON.stringify(import.meta.resolve("../../../lib/state/log_file.ts"))
      };`,
      "const [dir, path, tag, n] = Deno.args;",
      "const file = openLogFile(dir, path);",
      "for (let i = 0; i < Number(n); i++) file.write(`${tag} ${i} ${tag.repeat(2000)}\\n`);",
    ].join("\n");
    const run = (tag: string) =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "--allow-ffi", script, dir, path, tag, String(lines)],
      }).output();
    const [a, b] = await Promise.all([run("a"), run("b")]);
    assert.equal(a.code, 0, new TextDecoder().decode(a.stderr));
    assert.equal(b.code, 0, new TextDecoder().decode(b.stderr));
    const written = (await Deno.readTextFile(path)).split("\n");
    assert.equal(written.pop(), "");
    assert.equal(written.length, 2 * lines);
    const seen = { a: 0, b: 0 };
    for (const line of written) {
      const match = /^([ab]) (\d+) ([ab]{2000})$/.exec(line);
      assert.ok(match !== null, `torn line: ${line.slice(0, 80)}`);
      const tag = match[1] as "a" | "b";
      assert.equal(match[3], tag.repeat(2000), `mixed line: ${line.slice(0, 80)}`);
      // Each writer's own lines stay in its order.
      assert.equal(Number(match[2]), seen[tag]);
      seen[tag] += 1;
    }
    assert.deepEqual(seen, { a: lines, b: lines });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
