/**
 * LibnlRdma and the RDMA netlink requests against the real kernel. Needs root and libnl.
 *
 * This machine's kernel has no RDMA netlink (no `ib_core`): every request must fail with the
 * actionable `unsupported` error, and the thread must be back in its namespace afterwards. The
 * encoding of each request is checked on the bytes libnl builds. Where `ib_core` is loaded, the
 * answers are compared with iproute2's `rdma` tool instead.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readlink } from "../../ffi/sysfs_libc.ts";
import { attributes, messageHeader, NLMSG_HDRLEN } from "../../ffi/netlink_message.ts";
import { encodeRequest } from "../../ffi/rdma_socket.ts";
import { LibnlRdma } from "../../lib/netlink/libnl_rdma.ts";
import { hostNetns, openNetns, THREAD_NETNS_PATH } from "../../lib/netlink/mod.ts";
import { NetlinkError } from "../../lib/netlink/netlink.ts";
import { lostNetns, type TempNetns, withTempNetns } from "./_netns_fixture.ts";

/** Whether the kernel has RDMA netlink: `ib_core` registers NETLINK_RDMA. */
function hasRdmaNetlink(): boolean {
  try {
    Deno.statSync("/sys/module/ib_core");
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

const RDMA = hasRdmaNetlink();

const UNSUPPORTED = "the kernel has no RDMA netlink (NETLINK_RDMA is not a supported protocol); " +
  "load the ib_core module (modprobe ib_core)";

/** The first namespace of a `withTempNetns` list. */
function first(items: TempNetns[]): TempNetns {
  const item = items[0];
  assert.ok(item !== undefined);
  return item;
}

/** Asserts a `NetlinkError` with the errno `errnoName` and exactly `message`. */
function assertRdmaError(fn: () => unknown, errnoName: string, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof NetlinkError, String(error));
    assert.equal(error.name, "NetlinkError");
    assert.equal(error.errnoName, errnoName);
    assert.equal(error.message, message);
    return true;
  });
}

/** Runs `rdma -j ...` and parses its JSON. */
function rdmaJson(...args: string[]): unknown {
  const out = new Deno.Command("rdma", { args: ["-j", ...args], stdout: "piped" }).outputSync();
  assert.ok(out.success, `rdma -j ${args.join(" ")} failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("encodeRequest() builds SYS_GET as 0x1406, REQUEST|ACK, no attributes", () => {
  const bytes = encodeRequest({ op: "sys-get" });
  assert.deepEqual(messageHeader(bytes), { length: 16, type: 0x1406, flags: 0x1 | 0x4 });
  assert.equal(bytes.length, 16);
});

Deno.test("encodeRequest() builds the device dump as 0x1401 with NLM_F_DUMP, no attributes", () => {
  const bytes = encodeRequest({ op: "dump-devices" });
  assert.deepEqual(messageHeader(bytes), { length: 16, type: 0x1401, flags: 0x1 | 0x4 | 0x300 });
  assert.equal(bytes.length, 16);
});

Deno.test("encodeRequest() builds RDMA_NLDEV_CMD_SET with DEV_INDEX and NET_NS_FD as u32s", () => {
  const bytes = encodeRequest({ op: "set-netns", index: 0x01020304, nsFd: 7 });
  assert.deepEqual(messageHeader(bytes), { length: 32, type: 0x1402, flags: 0x1 | 0x4 });
  assert.equal(bytes.length, 32);
  // RDMA_NLDEV_ATTR_DEV_INDEX (1) and RDMA_NLDEV_NET_NS_FD (68), 8 bytes each, which fill the
  // 32; no DEV_NAME, which would rename.
  assert.deepEqual(attributes(bytes, NLMSG_HDRLEN, bytes.length), [
    [1, Uint8Array.of(0x04, 0x03, 0x02, 0x01)],
    [68, Uint8Array.of(7, 0, 0, 0)],
  ]);
});

Deno.test({
  name: "LibnlRdma.netnsMode() says the kernel has no RDMA netlink and needs ib_core",
  ignore: RDMA,
  fn() {
    using rdma = new LibnlRdma(lostNetns);
    assertRdmaError(
      () => rdma.netnsMode(),
      "EPROTONOSUPPORT",
      UNSUPPORTED,
    );
  },
});

Deno.test({
  name: "LibnlRdma.devices() says the kernel has no RDMA netlink and needs ib_core",
  ignore: RDMA,
  fn() {
    using rdma = new LibnlRdma(lostNetns);
    using host = hostNetns();
    assertRdmaError(
      () => rdma.devices(host),
      "EPROTONOSUPPORT",
      UNSUPPORTED,
    );
  },
});

Deno.test({
  name: "LibnlRdma.moveDevice() says the kernel has no RDMA netlink, from a pod netns too",
  ignore: RDMA,
  async fn() {
    await withTempNetns(1, (namespaces) => {
      using rdma = new LibnlRdma(lostNetns);
      using host = hostNetns();
      using pod = openNetns(first(namespaces).path);
      const before = readlink(THREAD_NETNS_PATH);
      assertRdmaError(
        () => rdma.moveDevice(host, "mlx5_3", pod),
        "EPROTONOSUPPORT",
        UNSUPPORTED,
      );
      // The socket for the way back is opened inside the pod: the thread must come back out.
      assertRdmaError(
        () => rdma.moveDevice(pod, "mlx5_3", host),
        "EPROTONOSUPPORT",
        UNSUPPORTED,
      );
      assert.equal(readlink(THREAD_NETNS_PATH), before);
    });
  },
});

Deno.test({
  name: "LibnlRdma.netnsMode() and devices() agree with iproute2's rdma tool",
  ignore: !RDMA,
  fn() {
    using rdma = new LibnlRdma(lostNetns);
    using host = hostNetns();
    const system = rdmaJson("system", "show");
    const entry = (Array.isArray(system) ? system[0] : system) as { netns: string };
    assert.equal(rdma.netnsMode(), entry.netns);
    const devices = rdmaJson("dev", "show") as Array<{ ifname: string }>;
    assert.deepEqual(rdma.devices(host), devices.map((d) => d.ifname).sort());
  },
});

Deno.test({
  name: "LibnlRdma.moveDevice() reports a device that is not in the source netns as ENOENT",
  ignore: !RDMA,
  async fn() {
    await withTempNetns(1, (namespaces) => {
      using rdma = new LibnlRdma(lostNetns);
      using host = hostNetns();
      using pod = openNetns(first(namespaces).path);
      assertRdmaError(
        () => rdma.moveDevice(host, "ibsriov-none0", pod),
        "ENOENT",
        "no such device in the source netns",
      );
    });
  },
});
