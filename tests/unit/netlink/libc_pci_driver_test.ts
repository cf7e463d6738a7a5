import assert from "node:assert/strict";
import { join } from "node:path";
import { LibcError } from "../../../ffi/errno.ts";
import { LibcPciDriver, PciDriverError } from "../../../lib/netlink/libc_pci_driver.ts";

const VF = "0000:3b:00.2";

/**
 * Runs `fn` with a temporary root that holds `sys/bus/pci/drivers/<driver>/{bind,unbind}` as
 * empty plain files for each driver given, removed afterwards.
 */
async function withDriversRoot(
  drivers: string[],
  fn: (root: string) => void | Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "pci_driver_test_" });
  try {
    for (const driver of drivers) {
      const dir = join(root, "sys/bus/pci/drivers", driver);
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(join(dir, "bind"), "");
      await Deno.writeTextFile(join(dir, "unbind"), "");
    }
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Asserts that `fn` throws a PciDriverError with these fields. */
function assertPciDriverError(
  fn: () => unknown,
  expected: {
    code: string;
    path: string;
    op: string;
    errno: number | null;
    errnoName: string | null;
    message: string;
  },
): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof PciDriverError, `expected PciDriverError, got ${error}`);
    assert.equal(error.name, "PciDriverError");
    const cause = error.cause instanceof LibcError ? error.cause : null;
    assert.deepEqual({
      code: error.code,
      path: error.path,
      op: error.op,
      errno: cause?.errno ?? null,
      errnoName: cause?.errnoName ?? null,
      message: error.message,
    }, expected);
    return true;
  });
}

Deno.test("LibcPciDriver.unbind() writes the address to <root>/sys/bus/pci/drivers/<driver>/unbind", async () => {
  await withDriversRoot(["mlx5_core"], async (root) => {
    new LibcPciDriver({ root }).unbind(VF, "mlx5_core");
    const dir = join(root, "sys/bus/pci/drivers/mlx5_core");
    assert.equal(await Deno.readTextFile(join(dir, "unbind")), VF);
    assert.equal(await Deno.readTextFile(join(dir, "bind")), "");
  });
});

Deno.test("LibcPciDriver.bind() writes the address to the driver's bind file", async () => {
  await withDriversRoot(["mlx5_core", "vfio-pci"], async (root) => {
    new LibcPciDriver({ root }).bind(VF, "vfio-pci");
    const drivers = join(root, "sys/bus/pci/drivers");
    assert.equal(await Deno.readTextFile(join(drivers, "vfio-pci/bind")), VF);
    assert.equal(await Deno.readTextFile(join(drivers, "vfio-pci/unbind")), "");
    assert.equal(await Deno.readTextFile(join(drivers, "mlx5_core/bind")), "");
  });
});

Deno.test("LibcPciDriver.bind() of a driver that does not exist throws io ENOENT with the file as its path", async () => {
  await withDriversRoot([], (root) => {
    const path = join(root, "sys/bus/pci/drivers/mlx5_core/bind");
    assertPciDriverError(() => new LibcPciDriver({ root }).bind(VF, "mlx5_core"), {
      code: "io",
      path,
      op: "bind",
      errno: 2,
      errnoName: "ENOENT",
      message: "No such file or directory",
    });
    assert.throws(() => new LibcPciDriver({ root }).bind(VF, "mlx5_core"), (error: unknown) => {
      assert.ok(error instanceof PciDriverError);
      assert.ok(error.cause instanceof LibcError);
      assert.equal(error.cause.op, "open");
      return true;
    });
  });
});

Deno.test("LibcPciDriver.unbind() refuses an address that is not a PCI address before writing", async () => {
  await withDriversRoot(["mlx5_core"], async (root) => {
    const driver = new LibcPciDriver({ root });
    for (const pci of ["../../x", "0000:3b:00.8", "3b:00.2", "", "0000:3b:00.2\n"]) {
      assertPciDriverError(() => driver.unbind(pci, "mlx5_core"), {
        code: "invalid-name",
        path: pci,
        op: "unbind",
        errno: null,
        errnoName: null,
        message: "not a PCI address (DDDD:BB:DD.F)",
      });
    }
    const unbind = join(root, "sys/bus/pci/drivers/mlx5_core/unbind");
    assert.equal(await Deno.readTextFile(unbind), "");
  });
});

Deno.test("LibcPciDriver.bind() refuses a driver name that would leave the drivers directory", async () => {
  await withDriversRoot(["mlx5_core"], (root) => {
    const driver = new LibcPciDriver({ root });
    for (const name of ["", ".", "..", "../devices", "mlx5_core/..", "a\0b"]) {
      assertPciDriverError(() => driver.bind(VF, name), {
        code: "invalid-name",
        path: name,
        op: "bind",
        errno: null,
        errnoName: null,
        message: "not a driver name",
      });
    }
  });
});

Deno.test("LibcPciDriver uses / as its root by default", () => {
  // The real /sys, through libc: a driver that does not exist, so nothing can change.
  const path = "/sys/bus/pci/drivers/no-such-driver-ib-sriov/unbind";
  assertPciDriverError(
    () => new LibcPciDriver().unbind("ffff:ff:1f.7", "no-such-driver-ib-sriov"),
    {
      code: "io",
      path,
      op: "unbind",
      errno: 2,
      errnoName: "ENOENT",
      message: "No such file or directory",
    },
  );
});
