import assert from "node:assert/strict";
import { join } from "node:path";
import { close, geteuid, writeAll } from "../../../ffi/state_libc.ts";
import { ConfinedDir } from "../../../lib/state/confined_dir.ts";
import { type PathRule, StateError } from "../../../lib/state/state_error.ts";

/** A root-owned (the tests run as the user that owns it) 0700 directory, removed after `fn`. */
async function withRoot(fn: (root: string) => Promise<void> | void): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "confined-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Opens `name` beneath the directory `root` for appending, as the log file is opened. */
function openAppendBeneath(root: string, name: string, mode: number, create?: "dir"): number {
  using dir = ConfinedDir.open(root, create);
  return dir.openAppend(name, mode);
}

function writeFileBeneath(root: string, name: string, text: string, mode: number): void {
  using dir = ConfinedDir.open(root);
  dir.replace(name, text, { mode });
}

function checkOwnDirectory(path: string): void {
  ConfinedDir.open(path)[Symbol.dispose]();
}

function assertRefused(
  fn: () => unknown,
  expected: { rule: PathRule; path: string; message: string },
): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StateError, `expected StateError, got ${err}`);
    assert.equal(err.name, "StateError");
    assert.equal(err.code, "io");
    assert.equal(err.rule, expected.rule);
    assert.equal(err.path, expected.path);
    assert.equal(err.message, expected.message);
    return true;
  });
}

async function mkfifo(path: string): Promise<void> {
  const out = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(out.code, 0);
}

function append(root: string, name: string, text: string): void {
  const fd = openAppendBeneath(root, name, 0o600);
  try {
    writeAll(fd, new TextEncoder().encode(text));
  } finally {
    close(fd);
  }
}

Deno.test("ConfinedDir.openAppend() creates a missing file 0600 beneath the root and appends to it", async () => {
  await withRoot(async (root) => {
    await Deno.mkdir(join(root, "sub"));
    append(root, "sub/a.log", "one\n");
    append(root, "sub/a.log", "two\n");
    assert.equal(await Deno.readTextFile(join(root, "sub/a.log")), "one\ntwo\n");
    assert.equal((await Deno.stat(join(root, "sub/a.log"))).mode! & 0o777, 0o600);
  });
});

Deno.test("ConfinedDir.openAppend() refuses a symbolic link as the file, leaving its target alone", async () => {
  await withRoot(async (root) => {
    const target = join(root, "target");
    await Deno.writeTextFile(target, "kept\n");
    await Deno.symlink(target, join(root, "link"));
    assertRefused(() => openAppendBeneath(root, "link", 0o600), {
      rule: "symlink",
      path: `${root}/link`,
      message: `Cannot open "${root}/link": a component of the path is a symbolic link`,
    });
    assert.equal(await Deno.readTextFile(target), "kept\n");
  });
});

Deno.test("ConfinedDir.openAppend() refuses a symbolic link at a directory component beneath the root", async () => {
  await withRoot(async (root) => {
    await Deno.mkdir(join(root, "real"));
    await Deno.symlink(join(root, "real"), join(root, "dir"));
    assertRefused(() => openAppendBeneath(root, "dir/x.log", 0o600), {
      rule: "symlink",
      path: `${root}/dir/x.log`,
      message: `Cannot open "${root}/dir/x.log": a component of the path is a symbolic link`,
    });
    assert.deepEqual([...Deno.readDirSync(join(root, "real"))], []);
  });
});

Deno.test("ConfinedDir.openAppend() follows a link above the root, the system's (/var/run to /run)", async () => {
  await withRoot(async (root) => {
    await Deno.mkdir(join(root, "run", "logs"), { recursive: true, mode: 0o700 });
    await Deno.symlink(join(root, "run"), join(root, "var-run"));
    append(join(root, "var-run", "logs"), "x.log", "one\n");
    assert.equal(await Deno.readTextFile(join(root, "run", "logs", "x.log")), "one\n");
  });
});

Deno.test("ConfinedDir.openAppend() refuses a root that is itself a symbolic link", async () => {
  await withRoot(async (root) => {
    await Deno.mkdir(join(root, "real"), { mode: 0o700 });
    await Deno.symlink(join(root, "real"), join(root, "alias"));
    assertRefused(() => openAppendBeneath(join(root, "alias"), "x.log", 0o600), {
      rule: "symlink",
      path: `${root}/alias`,
      message: `Cannot open directory "${root}/alias": a component of the path is a symbolic link`,
    });
    assert.deepEqual([...Deno.readDirSync(join(root, "real"))], []);
  });
});

Deno.test("ConfinedDir.openAppend() refuses .., empty segments and absolute names before any call", async () => {
  await withRoot((root) => {
    for (const name of ["../x.log", "a/../x.log", "./x.log", "a//x.log", "/etc/passwd", ""]) {
      assertRefused(() => openAppendBeneath(root, name, 0o600), {
        rule: "name",
        path: `${root}/${name}`,
        message: `Cannot open "${root}/${name}": it must be a path beneath its directory ` +
          "without empty, . or .. segments",
      });
    }
    assert.deepEqual([...Deno.readDirSync(root)], []);
  });
});

Deno.test("ConfinedDir.openAppend() refuses a FIFO without blocking, and a directory", async () => {
  await withRoot(async (root) => {
    await mkfifo(join(root, "fifo"));
    await Deno.mkdir(join(root, "dir"));
    for (const name of ["fifo", "dir"]) {
      assertRefused(() => openAppendBeneath(root, name, 0o600), {
        rule: "not-regular",
        path: `${root}/${name}`,
        message: `Cannot open "${root}/${name}": it is not a regular file`,
      });
    }
  });
});

// /dev is root's: as another user the root check refuses it first (rule owner).
Deno.test({
  name: "ConfinedDir.openAppend() refuses a device node",
  ignore: geteuid() !== 0,
  fn() {
    assertRefused(() => openAppendBeneath("/dev", "null", 0o600), {
      rule: "not-regular",
      path: "/dev/null",
      message: 'Cannot open "/dev/null": it is not a regular file',
    });
  },
});

Deno.test("ConfinedDir.openAppend() refuses a hard link to a file elsewhere", async () => {
  await withRoot(async (root) => {
    await Deno.writeTextFile(join(root, "elsewhere"), "kept\n");
    await Deno.link(join(root, "elsewhere"), join(root, "hard.log"));
    assertRefused(() => openAppendBeneath(root, "hard.log", 0o600), {
      rule: "linked",
      path: `${root}/hard.log`,
      message: `Cannot open "${root}/hard.log": it has 2 hard links; it must have one`,
    });
    assert.equal(await Deno.readTextFile(join(root, "elsewhere")), "kept\n");
  });
});

Deno.test("ConfinedDir.openAppend() refuses a root that group or others may write", async () => {
  await withRoot(async (root) => {
    await Deno.chmod(root, 0o1777);
    const uid = geteuid();
    assertRefused(() => openAppendBeneath(root, "x.log", 0o600), {
      rule: "owner",
      path: root,
      message: `Cannot use directory "${root}": it must be owned by uid ${uid} and not ` +
        `writable by group or others (it is uid ${uid}, mode 01777)`,
    });
    assert.deepEqual([...Deno.readDirSync(root)], []);
  });
});

Deno.test("ConfinedDir.openAppend() creates a missing root 0700 only when asked, and never its parent", async () => {
  await withRoot(async (root) => {
    const logs = join(root, "logs");
    assertRefused(() => openAppendBeneath(logs, "x.log", 0o600), {
      rule: "missing",
      path: logs,
      message: `Cannot open directory "${logs}": No such file or directory`,
    });
    close(openAppendBeneath(logs, "x.log", 0o600, "dir"));
    assert.equal((await Deno.stat(logs)).mode! & 0o777, 0o700);
    assert.ok((await Deno.stat(join(logs, "x.log"))).isFile);
    const deep = join(root, "none", "logs");
    assertRefused(() => openAppendBeneath(deep, "x.log", 0o600, "dir"), {
      rule: "missing",
      path: deep,
      message: `Cannot open directory "${deep}": No such file or directory`,
    });
    assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["logs"]);
  });
});

Deno.test("ConfinedDir.replace() replaces a read-only file atomically and leaves no temp file", async () => {
  await withRoot(async (root) => {
    const path = join(root, "dev.json");
    await Deno.writeTextFile(path, "old");
    await Deno.chmod(path, 0o444);
    writeFileBeneath(root, "dev.json", '{"new":true}', 0o600);
    assert.equal(await Deno.readTextFile(path), '{"new":true}');
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["dev.json"]);
  });
});

Deno.test("ConfinedDir.replace() refuses a symbolic link or a FIFO at the name and writes nothing", async () => {
  await withRoot(async (root) => {
    const target = join(root, "target");
    await Deno.writeTextFile(target, "kept");
    await Deno.symlink(target, join(root, "link.json"));
    await mkfifo(join(root, "fifo.json"));
    for (const name of ["link.json", "fifo.json"]) {
      assertRefused(() => writeFileBeneath(root, name, "x", 0o600), {
        rule: "not-regular",
        path: `${root}/${name}`,
        message: `Cannot write "${root}/${name}": it is not a regular file`,
      });
    }
    assert.equal(await Deno.readTextFile(target), "kept");
    assert.deepEqual(
      [...Deno.readDirSync(root)].map((e) => e.name).sort(),
      ["fifo.json", "link.json", "target"],
    );
  });
});

Deno.test("ConfinedDir.open() accepts a private directory and refuses one reached through a link", async () => {
  await withRoot(async (root) => {
    checkOwnDirectory(root);
    await Deno.mkdir(join(root, "state"), { mode: 0o700 });
    await Deno.symlink(join(root, "state"), join(root, "link"));
    assertRefused(() => checkOwnDirectory(join(root, "link")), {
      rule: "symlink",
      path: `${root}/link`,
      message: `Cannot open directory "${root}/link": a component of the path is a symbolic link`,
    });
  });
});
