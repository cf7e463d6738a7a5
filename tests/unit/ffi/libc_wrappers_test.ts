import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { LibcError } from "../../../ffi/errno.ts";
import {
  CLONE_NEWNET,
  close,
  fstatfsType,
  NSFS_MAGIC,
  O_CLOEXEC,
  O_RDONLY,
  open,
  openNetnsLibc,
  setns,
} from "../../../ffi/netns_libc.ts";
import { openPciDriverLibc, writeText } from "../../../ffi/pci_driver_libc.ts";
import { openStateLibc } from "../../../ffi/state_libc.ts";
import {
  lstatExists,
  openSysfsLibc as openLibc,
  readDir,
  readFile,
  readlink,
  readText,
} from "../../../ffi/sysfs_libc.ts";

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
async function withTempDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "libc_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts that `fn` throws a LibcError with these fields. */
function assertLibcError(
  fn: () => unknown,
  expected: { errnoName: string; errno: number; op: string; message: string },
): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof LibcError, `expected LibcError, got ${error}`);
    assert.equal(error.name, "LibcError");
    assert.deepEqual(
      {
        errnoName: error.errnoName,
        errno: error.errno,
        op: error.op,
        message: error.message,
      },
      expected,
    );
    return true;
  });
}

Deno.test("openLibc() loads libc once", () => {
  assert.equal(openLibc(), openLibc());
});

Deno.test("each binding loads libc with its own symbols: the readers get no write()", () => {
  const loaded = {
    sysfs: openLibc(),
    netns: openNetnsLibc(),
    pciDriver: openPciDriverLibc(),
    state: openStateLibc(),
  };
  assert.deepEqual(
    Object.fromEntries(
      Object.entries(loaded).map(([name, lib]) => [name, Object.keys(lib).sort()]),
    ),
    {
      sysfs: [
        "__errno_location",
        "close",
        "closedir",
        "faccessat",
        "open",
        "opendir",
        "read",
        "readdir",
        "readlink",
        "strerror",
      ],
      netns: [
        "__errno_location",
        "close",
        "faccessat",
        "fstat",
        "fstatfs",
        "open",
        "setns",
        "strerror",
      ],
      pciDriver: ["__errno_location", "close", "open", "strerror", "write"],
      state: [
        "__errno_location",
        "close",
        "closedir",
        "fdopendir",
        "flock",
        "fsync",
        "geteuid",
        "mkdirat",
        "openat2",
        "read",
        "readdir",
        "renameat",
        "statx",
        "strerror",
        "unlinkat",
        "write",
      ],
    },
  );
  assert.equal(openNetnsLibc(), loaded.netns);
  assert.equal(openStateLibc(), loaded.state);
});

Deno.test("readText() reads /proc/self/stat, which Deno's file API refuses", () => {
  // Deno's own API refuses /proc without --allow-all; the FFI path is how lib/sysfs reads it.
  assert.match(readText("/proc/self/stat"), new RegExp(`^${Deno.pid} \\(`));
});

Deno.test("readText() reads /sys/class/net/lo/ifindex", () => {
  assert.equal(readText("/sys/class/net/lo/ifindex"), "1\n");
});

Deno.test("readText() of a missing path throws LibcError ENOENT from open(), with the strerror text", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "missing");
    assertLibcError(() => readText(path), {
      errnoName: "ENOENT",
      errno: 2,
      op: "open",
      message: "No such file or directory",
    });
  });
});

Deno.test("readText() of a directory throws LibcError EISDIR from read()", async () => {
  await withTempDir((dir) => {
    assertLibcError(() => readText(dir), {
      errnoName: "EISDIR",
      errno: 21,
      op: "read",
      message: "Is a directory",
    });
  });
});

Deno.test("readFile() reads a file of any size up to maxBytes", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "big");
    const data = new Uint8Array(200_000).map((_, i) => i % 251);
    await Deno.writeFile(path, data);
    assert.deepEqual(readFile(path, 200_000), data);
    assert.deepEqual(readFile(path, 300_000), data);
    await Deno.writeFile(path, new Uint8Array());
    assert.deepEqual(readFile(path), new Uint8Array());
  });
});

Deno.test("readFile() throws EFBIG for a file longer than maxBytes", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "big");
    await Deno.writeTextFile(path, "12345");
    assertLibcError(() => readFile(path, 4), {
      errnoName: "EFBIG",
      errno: 27,
      op: "read",
      message: "File too large",
    });
  });
});

Deno.test("readFile() reads a file of several 64 KiB buffers whole, and of exactly maxBytes", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "big");
    const bytes = new Uint8Array(200_000).map((_, i) => i % 251);
    await Deno.writeFile(path, bytes);
    assert.deepEqual(readFile(path, 1 << 20), bytes);
    assert.deepEqual(readFile(path, 200_000), bytes);
    assert.throws(() => readFile(path, 199_999), { errno: 27 });
  });
});

Deno.test("readlink() returns the target as stored", async () => {
  await withTempDir(async (dir) => {
    await Deno.symlink("../0000:3b:00.0", join(dir, "physfn"));
    assert.equal(readlink(join(dir, "physfn")), "../0000:3b:00.0");
    // A dangling link still has a target.
    await Deno.symlink("/nonexistent/drivers/mlx5_core", join(dir, "driver"));
    assert.equal(readlink(join(dir, "driver")), "/nonexistent/drivers/mlx5_core");
  });
});

Deno.test("readlink() throws EINVAL for a file that is no link, ENOENT when absent", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "file");
    await Deno.writeTextFile(file, "");
    assertLibcError(() => readlink(file), {
      errnoName: "EINVAL",
      errno: 22,
      op: "readlink",
      message: "Invalid argument",
    });
    const missing = join(dir, "missing");
    assertLibcError(() => readlink(missing), {
      errnoName: "ENOENT",
      errno: 2,
      op: "readlink",
      message: "No such file or directory",
    });
  });
});

Deno.test("readDir() lists every entry except . and ..", async () => {
  await withTempDir(async (dir) => {
    // Many entries with names up to NAME_MAX take several getdents() buffers.
    const names = Array.from({ length: 300 }, (_, i) => `${i}`.padEnd(255 - (i % 200), "x"));
    names.push("ibp59s0f0", "é");
    for (const name of names) await Deno.writeTextFile(join(dir, name), "");
    await Deno.mkdir(join(dir, "sub"));
    await Deno.symlink("nowhere", join(dir, "link"));
    names.push("sub", "link");
    assert.deepEqual(readDir(dir).sort(), names.sort());
  });
});

Deno.test("readDir() of an empty directory returns []", async () => {
  await withTempDir((dir) => {
    assert.deepEqual(readDir(dir), []);
  });
});

Deno.test("readDir() throws ENOENT when absent and ENOTDIR for a file", async () => {
  await withTempDir(async (dir) => {
    const missing = join(dir, "net");
    assertLibcError(() => readDir(missing), {
      errnoName: "ENOENT",
      errno: 2,
      op: "opendir",
      message: "No such file or directory",
    });
    const file = join(dir, "file");
    await Deno.writeTextFile(file, "");
    assertLibcError(() => readDir(file), {
      errnoName: "ENOTDIR",
      errno: 20,
      op: "opendir",
      message: "Not a directory",
    });
  });
});

Deno.test("lstatExists() is true for files, directories and dangling links", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "file"), "");
    await Deno.symlink("nowhere", join(dir, "dangling"));
    assert.equal(lstatExists(dir), true);
    assert.equal(lstatExists(join(dir, "file")), true);
    assert.equal(lstatExists(join(dir, "dangling")), true);
  });
});

Deno.test("lstatExists() is false for ENOENT and ENOTDIR", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "file"), "");
    assert.equal(lstatExists(join(dir, "missing")), false);
    assert.equal(lstatExists(join(dir, "file", "below")), false);
  });
});

Deno.test("lstatExists() throws for other errors", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "x".repeat(300));
    assertLibcError(() => lstatExists(path), {
      errnoName: "ENAMETOOLONG",
      errno: 36,
      op: "faccessat",
      message: "File name too long",
    });
  });
});

Deno.test("open() and close() manage a descriptor; closing twice throws EBADF", () => {
  const fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  assert.ok(fd >= 0);
  close(fd);
  assertLibcError(() => close(fd), {
    errnoName: "EBADF",
    errno: 9,
    op: "close",
    message: "Bad file descriptor",
  });
});

Deno.test("open() of the read-only bindings refuses flags that write, create, truncate or append", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "file");
    await Deno.writeTextFile(path, "kept");
    // O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND.
    for (const flag of [0o1, 0o2, 0o100, 0o1000, 0o2000]) {
      const flags = O_RDONLY | O_CLOEXEC | flag;
      assert.throws(() => open(path, flags), (error: unknown) => {
        assert.ok(error instanceof Error && !(error instanceof LibcError), `got ${error}`);
        assert.equal(
          error.message,
          `Cannot open ${JSON.stringify(path)}: flags 0o${flags.toString(8)} could change it`,
        );
        return true;
      });
    }
    assert.equal(await Deno.readTextFile(path), "kept");
  });
});

Deno.test("fstatfsType() tells a namespace handle from a regular file", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "file"), "");
    const ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const file = open(join(dir, "file"), O_RDONLY | O_CLOEXEC);
    try {
      assert.equal(fstatfsType(ns), NSFS_MAGIC);
      assert.notEqual(fstatfsType(file), NSFS_MAGIC);
    } finally {
      close(ns);
      close(file);
    }
    assertLibcError(() => fstatfsType(file), {
      errnoName: "EBADF",
      errno: 9,
      op: "fstatfs",
      message: "Bad file descriptor",
    });
  });
});

Deno.test("setns() throws EINVAL for an fd that is no namespace", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "file"), "");
    const fd = open(join(dir, "file"), O_RDONLY | O_CLOEXEC);
    try {
      assertLibcError(() => setns(fd, CLONE_NEWNET), {
        errnoName: "EINVAL",
        errno: 22,
        op: "setns",
        message: "Invalid argument",
      });
    } finally {
      close(fd);
    }
  });
});

Deno.test("LibcError names an errno without a known name E<n>", () => {
  const error = new LibcError("frob", 200, "Unknown error 200");
  assert.equal(error.errnoName, "E200");
  assert.equal(error.op, "frob");
  assert.equal(error.name, "LibcError");
  assert.equal(error.message, "Unknown error 200");
});

Deno.test("writeText() writes UTF-8 text over the start of an existing file", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "drivers", "mlx5_core", "bind");
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeTextFile(path, "");
    writeText(path, "0000:3b:00.2 é");
    assert.equal(await Deno.readTextFile(path), "0000:3b:00.2 é");
  });
});

Deno.test("writeText() does not create a file: ENOENT from open(), with the strerror text", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "drivers", "missing", "unbind");
    assertLibcError(() => writeText(path, "x"), {
      errnoName: "ENOENT",
      errno: 2,
      op: "open",
      message: "No such file or directory",
    });
    assert.throws(() => writeText(path, "x"), (error: unknown) => {
      assert.ok(error instanceof LibcError);
      assert.equal(error.message, "No such file or directory");
      return true;
    });
    assert.equal(lstatExists(path), false);
  });
});

Deno.test("writeText() of a directory throws EISDIR from open()", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "drivers", "mlx5_core", "bind");
    await Deno.mkdir(path, { recursive: true });
    assertLibcError(() => writeText(path, "x"), {
      errnoName: "EISDIR",
      errno: 21,
      op: "open",
      message: "Is a directory",
    });
  });
});

Deno.test("writeText() returns the errno of a write the kernel refuses", {
  // /dev/full accepts open(O_WRONLY) and fails every write() with ENOSPC, as a sysfs store can.
  ignore: !lstatExists("/dev/full"),
}, async () => {
  await withTempDir(async (dir) => {
    // Through a link named like a driver's bind file: the binding writes no other name.
    const path = join(dir, "drivers", "full", "bind");
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.symlink("/dev/full", path);
    assertLibcError(() => writeText(path, "x"), {
      errnoName: "ENOSPC",
      errno: 28,
      op: "write",
      message: "No space left on device",
    });
  });
});

Deno.test("writeText() writes a driver's bind or unbind file only, refusing any other path before a call", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "drivers", "mlx5_core", "new_id");
    await Deno.mkdir(dirname(file), { recursive: true });
    await Deno.writeTextFile(file, "kept");
    for (
      const path of [
        file,
        join(dir, "bind"),
        `${dir}/drivers/mlx5_core/../bind`,
        `${dir}/drivers/../unbind`,
        "/etc/passwd",
      ]
    ) {
      assert.throws(() => writeText(path, "x"), (error: unknown) => {
        assert.ok(error instanceof Error && !(error instanceof LibcError), `got ${error}`);
        assert.equal(
          error.message,
          `Cannot write ${JSON.stringify(path)}: not a driver's bind or unbind file`,
        );
        return true;
      });
    }
    assert.equal(await Deno.readTextFile(file), "kept");
  });
});
