import assert from "node:assert/strict";
import { NetlinkError, NleCode } from "../../../ffi/unwrap.ts";
import { rdmaErrorOf } from "../../../lib/netlink/libnl_rdma.ts";

/** A NetlinkError as unwrap() makes it, with libnl's text. */
function libnlError(code: number, text: string): NetlinkError {
  return new NetlinkError(code, text);
}

Deno.test("rdmaErrorOf() says a kernel without RDMA netlink needs ib_core", () => {
  const cause = libnlError(NleCode.ProtoMismatch, "Protocol mismatch");
  const error = rdmaErrorOf(cause);
  assert.ok(error instanceof NetlinkError);
  assert.equal(error.name, "NetlinkError");
  assert.equal(error.code, NleCode.ProtoMismatch);
  assert.equal(error.errnoName, "EPROTONOSUPPORT");
  assert.equal(
    error.message,
    "the kernel has no RDMA netlink (NETLINK_RDMA is not a supported protocol); load the " +
      "ib_core module (modprobe ib_core)",
  );
  assert.equal(error.cause, cause);
});

Deno.test("rdmaErrorOf() keeps libnl's text for the kernel's error replies", () => {
  // NLMSG_ERROR replies reach JS as libnl codes: EOPNOTSUPP (shared mode), EINVAL (no such index).
  for (
    const [code, text] of [[NleCode.OpNotSupp, "Operation not supported"], [
      NleCode.Inval,
      "Invalid input data or parameter",
    ]] as const
  ) {
    const cause = libnlError(code, text);
    const error = rdmaErrorOf(cause);
    assert.equal(error, cause);
    assert.equal(error.message, text);
  }
});
