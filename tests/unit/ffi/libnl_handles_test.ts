import assert from "node:assert/strict";
import { parseLinkMessage } from "../../../ffi/handles.ts";
import { NetlinkError, NleCode } from "../../../ffi/unwrap.ts";

const CONTEXT = { op: "Cannot look up link", subject: '"ib0" in netns "/proc/thread-self/ns/net"' };

/** Encodes one netlink attribute, padded to 4 bytes. */
function attr(type: number, payload: Uint8Array): Uint8Array {
  const length = 4 + payload.length;
  const out = new Uint8Array((length + 3) & ~3);
  const view = new DataView(out.buffer);
  view.setUint16(0, length, true);
  view.setUint16(2, type, true);
  out.set(payload, 4);
  return out;
}

/** A NUL-terminated string payload. */
function str(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\0`);
}

/** A u32 payload. */
function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

/** Joins byte arrays. */
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** An RTM_NEWLINK message: nlmsghdr, ifinfomsg, then the attributes. */
function newlink(index: number, flags: number, attrs: Uint8Array[], type = 16): Uint8Array {
  const body = concat(attrs);
  const out = new Uint8Array(32 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, out.length, true);
  view.setUint16(4, type, true);
  view.setInt32(20, index, true);
  view.setUint32(24, flags, true);
  out.set(body, 32);
  return out;
}

const IPOIB_ADDRESS = Uint8Array.from({ length: 20 }, (_, i) => i === 0 ? 0x80 : i);

Deno.test("parseLinkMessage() reads index, flags, name, MTU, address and altnames", () => {
  const message = newlink(7, 0x1043, [
    attr(1, IPOIB_ADDRESS),
    attr(3, str("ib0")),
    attr(4, u32(2044)),
    attr(
      52 | 0x8000,
      concat([attr(53, str("ibp175s0f0")), attr(53, str("ib-long-alternative-name"))]),
    ),
  ]);
  const link = parseLinkMessage(message, CONTEXT);
  assert.equal(link.index, 7);
  assert.equal(link.flags, 0x1043);
  assert.equal(link.name, "ib0");
  assert.equal(link.mtu, 2044);
  assert.deepEqual(Array.from(link.address), Array.from(IPOIB_ADDRESS));
  assert.deepEqual(link.altNames, ["ibp175s0f0", "ib-long-alternative-name"]);
});

Deno.test("parseLinkMessage() leaves absent attributes empty and skips unknown ones", () => {
  const link = parseLinkMessage(newlink(3, 0, [attr(99, u32(1)), attr(3, str("veth0"))]), CONTEXT);
  assert.deepEqual(link, {
    index: 3,
    name: "veth0",
    mtu: 0,
    flags: 0,
    address: new Uint8Array(0),
    altNames: [],
  });
});

Deno.test("parseLinkMessage() stops at an attribute that overruns the message", () => {
  const good = attr(3, str("veth0"));
  const bad = attr(4, u32(1500));
  new DataView(bad.buffer).setUint16(0, 200, true);
  const link = parseLinkMessage(newlink(3, 0, [good, bad]), CONTEXT);
  assert.equal(link.name, "veth0");
  assert.equal(link.mtu, 0);
});

Deno.test("parseLinkMessage() rejects a message that is not RTM_NEWLINK", () => {
  for (const message of [newlink(3, 0, [], 20), new Uint8Array(8)]) {
    assert.throws(() => parseLinkMessage(message, CONTEXT), (error: unknown) => {
      assert.ok(error instanceof NetlinkError);
      assert.equal(error.code, NleCode.ParseErr);
      assert.equal(
        error.message,
        'Cannot look up link "ib0" in netns "/proc/thread-self/ns/net": malformed RTM_NEWLINK reply',
      );
      return true;
    });
  }
});
