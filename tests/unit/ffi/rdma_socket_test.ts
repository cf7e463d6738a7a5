import assert from "node:assert/strict";
import { parseDevice, parseNetnsMode } from "../../../ffi/rdma_socket.ts";
import { NetlinkError, NleCode } from "../../../ffi/unwrap.ts";
import { attr, concat, message, str, u32, u8 } from "../../netlink_bytes.ts";

/** `RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, RDMA_NLDEV_CMD_GET)`, `..._SYS_GET`. */
const NLDEV_GET = 0x1401;
const NLDEV_SYS_GET = 0x1406;
/** `<linux/netlink.h>` */
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_MULTI = 0x2;

/** A device as `fill_dev_info()` sends it: index, name, and attributes the plugin skips. */
function deviceMessage(index: number, name: string): Uint8Array {
  return message(NLDEV_GET, NLM_F_MULTI, [
    attr(1, u32(index)), // RDMA_NLDEV_ATTR_DEV_INDEX
    attr(2, str(name)), // RDMA_NLDEV_ATTR_DEV_NAME
    attr(3, u32(1)), // RDMA_NLDEV_ATTR_PORT_INDEX
    attr(5, str("20.31.1014")), // RDMA_NLDEV_ATTR_FW_VERSION
    attr(14, u8(1)), // RDMA_NLDEV_ATTR_DEV_NODE_TYPE
    attr(67, str("ib")), // RDMA_NLDEV_ATTR_DEV_PROTOCOL
  ]);
}

/** `struct nlmsgerr`: the negative errno and the request's header. */
function errorMessage(errno: number): Uint8Array {
  const error = new Uint8Array(4);
  new DataView(error.buffer).setInt32(0, -errno, true);
  return message(NLMSG_ERROR, 0, [error, message(NLDEV_SYS_GET, 0x5, []).subarray(0, 16)]);
}

/** `NLMSG_DONE` at the end of a dump: an int 0. */
const DONE = message(NLMSG_DONE, NLM_F_MULTI, [u32(0)]);

/** Asserts a parse error with its message. */
function assertParseError(fn: () => unknown, reason: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof NetlinkError);
    assert.equal(error.code, NleCode.ParseErr);
    assert.equal(error.message, reason);
    return true;
  });
}

Deno.test("parseNetnsMode() reads 0 as exclusive and 1 as shared", () => {
  // The kernel sends ib_devices_shared_netns, then RDMA_NLDEV_SYS_ATTR_COPY_ON_FORK (93).
  const reply = (mode: number) => message(NLDEV_SYS_GET, 0, [attr(66, u8(mode)), attr(93, u8(1))]);
  assert.equal(parseNetnsMode(reply(0)), "exclusive");
  assert.equal(parseNetnsMode(reply(1)), "shared");
});

Deno.test("parseNetnsMode() rejects an unknown mode, a missing or mis-sized attribute", () => {
  assertParseError(
    () => parseNetnsMode(message(NLDEV_SYS_GET, 0, [attr(66, u8(2))])),
    "unknown netns mode 2",
  );
  assertParseError(
    () => parseNetnsMode(message(NLDEV_SYS_GET, 0, [attr(93, u8(1))])),
    "no netns mode in the reply",
  );
  assertParseError(
    () => parseNetnsMode(message(NLDEV_SYS_GET, 0, [attr(66, u32(0))])),
    "no netns mode in the reply",
  );
});

Deno.test("parseNetnsMode() rejects NLMSG_ERROR, NLMSG_DONE and a GET reply", () => {
  for (const reply of [errorMessage(95), DONE, deviceMessage(1, "mlx5_0")]) {
    assertParseError(
      () => parseNetnsMode(reply),
      "malformed RDMA_NLDEV_CMD_SYS_GET reply",
    );
  }
});

Deno.test("parseDevice() reads index and name from each message of a dump", () => {
  const dump = [deviceMessage(0, "mlx5_0"), deviceMessage(3, "mlx5_3"), deviceMessage(17, "ib_x")];
  assert.deepEqual(dump.map((m) => parseDevice(m)), [
    { index: 0, name: "mlx5_0" },
    { index: 3, name: "mlx5_3" },
    { index: 17, name: "ib_x" },
  ]);
});

Deno.test("parseDevice() reads a message inside a larger receive buffer by its own length", () => {
  const buffer = concat([deviceMessage(5, "mlx5_5"), DONE]);
  assert.deepEqual(parseDevice(buffer), { index: 5, name: "mlx5_5" });
});

Deno.test("parseDevice() rejects a device without index or name", () => {
  for (
    const attrs of [[attr(2, str("mlx5_0"))], [attr(1, u32(0))], [
      attr(1, u8(0)),
      attr(2, str("a")),
    ]]
  ) {
    assertParseError(
      () => parseDevice(message(NLDEV_GET, NLM_F_MULTI, attrs)),
      "RDMA device without index or name",
    );
  }
});

Deno.test("parseDevice() rejects NLMSG_ERROR, NLMSG_DONE, SYS_GET and a short buffer", () => {
  const truncated = deviceMessage(1, "mlx5_1").subarray(0, 20);
  for (const reply of [errorMessage(22), DONE, message(NLDEV_SYS_GET, 0, []), truncated]) {
    assertParseError(() => parseDevice(reply), "malformed RDMA_NLDEV_CMD_GET reply");
  }
});
