import assert from "node:assert/strict";
import { parseLinkMessage } from "../../../ffi/rtnetlink.ts";
import { NetlinkError, NleCode } from "../../../ffi/unwrap.ts";
import { attr, concat, ifinfomsg, message, str, u32, vfGuid } from "../../netlink_bytes.ts";

/** An RTM_NEWLINK message: nlmsghdr, ifinfomsg, then the attributes. */
function newlink(index: number, flags: number, attrs: Uint8Array[], type = 16): Uint8Array {
  return message(type, 0, [ifinfomsg(index, flags), ...attrs]);
}

const IPOIB_ADDRESS = Uint8Array.from({ length: 20 }, (_, i) => i === 0 ? 0x80 : i);

Deno.test("parseLinkMessage() reads index, IFF_UP, name, MTU, address and altnames", () => {
  const reply = newlink(7, 0x1043, [
    attr(1, IPOIB_ADDRESS),
    attr(3, str("ib0")),
    attr(4, u32(2044)),
    attr(
      52 | 0x8000,
      concat([attr(53, str("ibp175s0f0")), attr(53, str("ib-long-alternative-name"))]),
    ),
  ]);
  const { link } = parseLinkMessage(reply);
  assert.equal(link.index, 7);
  assert.equal(link.up, true);
  assert.equal(link.name, "ib0");
  assert.equal(link.mtu, 2044);
  assert.equal(
    link.address,
    Array.from(IPOIB_ADDRESS, (b) => b.toString(16).padStart(2, "0")).join(":"),
  );
  assert.match(link.address, /^80:01:02:03:(..:){15}13$/);
  assert.deepEqual(link.altNames, ["ibp175s0f0", "ib-long-alternative-name"]);
  // IFF_RUNNING, IFF_MULTICAST and the others without IFF_UP: down.
  assert.equal(parseLinkMessage(newlink(7, 0x1042, [])).link.up, false);
});

Deno.test("parseLinkMessage() leaves absent attributes empty and skips unknown ones", () => {
  const parsed = parseLinkMessage(newlink(3, 0, [attr(99, u32(1)), attr(3, str("veth0"))]));
  assert.deepEqual(parsed, {
    link: { index: 3, name: "veth0", mtu: 0, address: "", up: false, altNames: [] },
    vfs: [],
  });
});

/** A struct that starts with `__u32 vf`, then u32 fields. */
function vfU32s(vf: number, ...values: number[]): Uint8Array {
  return concat([u32(vf), ...values.map(u32)]);
}

/** A `struct ifla_vf_mac`: u32 vf, mac[32]. */
function vfMac(vf: number): Uint8Array {
  return concat([u32(vf), new Uint8Array(32)]);
}

/** `IFLA_VFINFO_LIST` (22) of `IFLA_VF_INFO` (1) nests, as the kernel sends them (no NLA_F_NESTED). */
function vfInfoList(infos: Uint8Array[][]): Uint8Array {
  return attr(22, concat(infos.map((info) => attr(1, concat(info)))));
}

Deno.test("parseLinkMessage() reads each VF's index, link state and GUIDs from IFLA_VFINFO_LIST", () => {
  const reply = newlink(4, 0, [
    attr(3, str("ib0")),
    vfInfoList([
      [
        attr(1, vfMac(0)), // IFLA_VF_MAC
        attr(2, vfU32s(0, 0, 0)), // IFLA_VF_VLAN: not read
        attr(5, vfU32s(0, 2)), // IFLA_VF_LINK_STATE disable
        attr(10, vfGuid(0, 0x0200000000000001n)), // IFLA_VF_IB_NODE_GUID
        attr(11, vfGuid(0, 0x0200000000000002n)), // IFLA_VF_IB_PORT_GUID
      ],
      [
        attr(1, vfMac(1)),
        attr(5, vfU32s(1, 0)),
        attr(10, vfGuid(1, 0xffffffffffffffffn)),
        attr(11, vfGuid(1, 0n)),
      ],
    ]),
  ]);
  assert.deepEqual(parseLinkMessage(reply).vfs, [
    {
      vf: 0,
      linkState: "disable",
      nodeGuid: "02:00:00:00:00:00:00:01",
      portGuid: "02:00:00:00:00:00:00:02",
    },
    {
      vf: 1,
      linkState: "auto",
      nodeGuid: "ff:ff:ff:ff:ff:ff:ff:ff",
      portGuid: "00:00:00:00:00:00:00:00",
    },
  ]);
});

Deno.test("parseLinkMessage() reports GUIDs as null when the driver sends none", () => {
  // A driver without ndo_get_vf_guid: the kernel sends IFLA_VF_MAC and the rest, no GUIDs.
  const reply = newlink(4, 0, [
    vfInfoList([
      [attr(1, vfMac(5)), attr(5, vfU32s(5, 1))],
      [attr(1, vfMac(6))],
      // A link state a later kernel may add reads as not reported.
      [attr(1, vfMac(7)), attr(5, vfU32s(7, 3))],
    ]),
  ]);
  assert.deepEqual(parseLinkMessage(reply).vfs, [
    { vf: 5, linkState: "enable", nodeGuid: null, portGuid: null },
    { vf: 6, linkState: null, nodeGuid: null, portGuid: null },
    { vf: 7, linkState: null, nodeGuid: null, portGuid: null },
  ]);
});

Deno.test("parseLinkMessage() takes the VF index from any struct and skips short ones", () => {
  const list = attr(
    22,
    concat([
      // No IFLA_VF_MAC: the index comes from IFLA_VF_LINK_STATE.
      attr(1, concat([attr(5, vfU32s(3, 1)), attr(10, vfGuid(3, 7n))])),
      // A GUID struct cut to 12 bytes and a 4-byte link state are left out.
      attr(
        1,
        concat([attr(1, vfMac(4)), attr(10, vfGuid(4, 7n).subarray(0, 12)), attr(5, u32(4))]),
      ),
      // Nothing that carries an index: the VF is skipped.
      attr(1, attr(2, u32(9).subarray(0, 2))),
      // An attribute that is not IFLA_VF_INFO is not a VF.
      attr(2, attr(1, vfMac(8))),
    ]),
  );
  assert.deepEqual(parseLinkMessage(newlink(4, 0, [list])).vfs, [
    { vf: 3, linkState: "enable", nodeGuid: "00:00:00:00:00:00:00:07", portGuid: null },
    { vf: 4, linkState: null, nodeGuid: null, portGuid: null },
  ]);
});

Deno.test("parseLinkMessage() stops at an attribute that overruns the message", () => {
  const good = attr(3, str("veth0"));
  const bad = attr(4, u32(1500));
  new DataView(bad.buffer).setUint16(0, 200, true);
  const { link } = parseLinkMessage(newlink(3, 0, [good, bad]));
  assert.equal(link.name, "veth0");
  assert.equal(link.mtu, 0);
});

Deno.test("parseLinkMessage() ignores an IFLA_MTU that is not exactly a u32", () => {
  for (const payload of [u32(1500).subarray(0, 2), concat([u32(1500), u32(0)])]) {
    assert.equal(parseLinkMessage(newlink(3, 0, [attr(4, payload)])).link.mtu, 0);
  }
});

Deno.test("parseLinkMessage() rejects a message that is not a whole RTM_NEWLINK", () => {
  const truncated = newlink(3, 0, [attr(3, str("veth0"))]).subarray(0, 36);
  const headerOnly = message(16, 0, []);
  for (const reply of [newlink(3, 0, [], 20), new Uint8Array(8), truncated, headerOnly]) {
    assert.throws(() => parseLinkMessage(reply), (error: unknown) => {
      assert.ok(error instanceof NetlinkError);
      assert.equal(error.code, NleCode.ParseErr);
      assert.equal(error.message, "malformed RTM_NEWLINK reply");
      return true;
    });
  }
});
