/**
 * VF settings through a PF, against the real kernel, with a veth as the PF; and the PCI driver
 * core's answer to a bind and an unbind. Needs root.
 *
 * A veth has no SR-IOV handlers, so the kernel answers EOPNOTSUPP to a well-formed VF request
 * and EINVAL or ERANGE to a malformed one: the first proves our requests reach the handler
 * lookup, the raw requests below prove the kernel tells the two apart.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LibcError } from "../../ffi/errno.ts";
import { readDir } from "../../ffi/sysfs_libc.ts";
import { openLibnl } from "../../ffi/libnl.ts";
import { receiveMessages } from "../../ffi/netlink_message.ts";
import { netlinkError } from "../../ffi/unwrap.ts";
import { LibcPciDriver, PciDriverError } from "../../lib/netlink/libc_pci_driver.ts";
import {
  LibnlNetlink,
  NetlinkError,
  type Netns,
  NleCode,
  openNetns,
  withNetns,
} from "../../lib/netlink/mod.ts";
import { attr, concat, ifinfomsg, vfGuid } from "../netlink_bytes.ts";
import { addVeth, ifindexOf, lostNetns, type TempNetns, withTempNetns } from "./_netns_fixture.ts";

/** `<linux/rtnetlink.h>`, `<linux/if_link.h>` */
const RTM_SETLINK = 19;
const IFLA_VFINFO_LIST = 22;
const IFLA_VF_INFO = 1;
const IFLA_VF_IB_NODE_GUID = 10;
const RTM_GETROUTE = 26;
const RTA_DST = 1;
const AF_INET = 2;

/** Runs `fn` with a fresh LibnlNetlink, one namespace opened through it, and a veth "pf0". */
async function withVethPf(
  fn: (netlink: LibnlNetlink, temp: TempNetns, ns: Netns, pfIndex: number) => void,
): Promise<void> {
  await withTempNetns(1, ([temp]) => {
    assert.ok(temp !== undefined);
    addVeth(temp.name, "pf0", "pf0peer");
    using netlink = new LibnlNetlink(lostNetns);
    using ns = netlink.openNetns(temp.path);
    fn(netlink, temp, ns, ifindexOf(temp.name, "pf0"));
  });
}

/** Asserts the kernel's EOPNOTSUPP, as libnl's `NLE_OPNOTSUPP`, with `message`. */
function assertUnsupported(fn: () => unknown, expected: { message: string }): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof NetlinkError, `got ${error}`);
    assert.equal(error.name, "NetlinkError");
    assert.deepEqual({ message: error.message }, expected);
    assert.equal(error.code, NleCode.OpNotSupp);
    assert.equal(error.errnoName, "EOPNOTSUPP");
    return true;
  });
}

/**
 * Sends one hand-built request of `type` with `body` after the netlink header, from a socket
 * opened inside `ns`, and returns what `receive` makes of the answer on that socket.
 */
function rawRequest<T>(
  ns: Netns,
  type: number,
  body: Uint8Array,
  receive: (sk: Deno.PointerObject) => T,
): T {
  const { core } = openLibnl();
  const sk = withNetns(ns, () => core.nl_socket_alloc(), lostNetns);
  assert.ok(sk !== null);
  const msg = core.nlmsg_alloc_simple(type, 0);
  assert.ok(msg !== null);
  try {
    assert.equal(withNetns(ns, () => core.nl_connect(sk, 0), lostNetns), 0);
    assert.equal(core.nlmsg_append(msg, body, BigInt(body.length), 4), 0);
    assert.ok(core.nl_send_auto(sk, msg) > 0);
    return receive(sk);
  } finally {
    core.nlmsg_free(msg);
    core.nl_socket_free(sk);
  }
}

/** An `RTM_SETLINK` for `index` with `attrs`; libnl's result for the ACK (0 or `-NLE_*`). */
function rawSetlink(ns: Netns, index: number, attrs: Uint8Array): number {
  return rawRequest(
    ns,
    RTM_SETLINK,
    concat([ifinfomsg(index, 0), attrs]),
    (sk) => openLibnl().core.nl_wait_for_ack(sk),
  );
}

Deno.test("LibnlNetlink.setVf() of GUIDs on a veth PF throws EOPNOTSUPP", async () => {
  await withVethPf((netlink, _temp, ns, pfIndex) => {
    assertUnsupported(
      () =>
        netlink.setVf(ns, pfIndex, 3, {
          nodeGuid: "02:00:00:00:00:00:00:01",
          portGuid: "02:00:00:00:00:00:00:02",
        }),
      { message: "Operation not supported" },
    );
    assertUnsupported(
      () => netlink.setVf(ns, pfIndex, 0, { portGuid: "FF:FF:FF:FF:FF:FF:FF:FF" }),
      { message: "Operation not supported" },
    );
  });
});

Deno.test("LibnlNetlink.setVf() of the link state on a veth PF throws EOPNOTSUPP", async () => {
  await withVethPf((netlink, _temp, ns, pfIndex) => {
    for (const linkState of ["auto", "enable", "disable"] as const) {
      assertUnsupported(() => netlink.setVf(ns, pfIndex, 1, { linkState }), {
        message: "Operation not supported",
      });
    }
    assertUnsupported(
      () =>
        netlink.setVf(ns, pfIndex, 1, { linkState: "enable", nodeGuid: "02:00:00:00:00:00:00:01" }),
      { message: "Operation not supported" },
    );
  });
});

Deno.test("LibnlNetlink.setVf() with no field sends nothing, and refuses a GUID that is not one", async () => {
  await withVethPf((netlink, _temp, ns, pfIndex) => {
    netlink.setVf(ns, pfIndex, 0, {});
    assert.throws(
      () => netlink.setVf(ns, pfIndex, 0, { nodeGuid: "02:00:00:00:00:00:01" }),
      (error: unknown) => {
        assert.ok(error instanceof NetlinkError, `got ${error}`);
        assert.equal(error.code, NleCode.Inval);
        assert.equal(error.message, 'invalid GUID "02:00:00:00:00:00:01"');
        return true;
      },
    );
  });
});

Deno.test("LibnlNetlink.setVf() and vfSettings() on a missing PF throw NLE_NODEV", async () => {
  await withVethPf((netlink, _temp, ns) => {
    assert.throws(() => netlink.setVf(ns, 99999, 0, { linkState: "auto" }), (error: unknown) => {
      assert.ok(error instanceof NetlinkError, `got ${error}`);
      assert.equal(error.code, NleCode.NoDev);
      assert.equal(error.message, "No such device");
      return true;
    });
    assert.throws(() => netlink.vfSettings(ns, 99999, 0), (error: unknown) => {
      assert.ok(error instanceof NetlinkError, `got ${error}`);
      assert.equal(error.code, NleCode.NoDev);
      assert.equal(error.message, "No such device");
      return true;
    });
  });
});

Deno.test("LibnlNetlink.vfSettings() of a veth PF is null: it lists no VF", async () => {
  await withVethPf((netlink, _temp, ns, pfIndex) => {
    assert.equal(netlink.vfSettings(ns, pfIndex, 0), null);
    // The same request still finds the link itself.
    assert.equal(netlink.linkByIndex(ns, pfIndex)?.name, "pf0");
  });
});

Deno.test("the kernel answers EOPNOTSUPP to a well-formed VF GUID request and EINVAL or ERANGE to malformed ones", async () => {
  await withVethPf((_netlink, _temp, ns, pfIndex) => {
    const request = (info: Uint8Array) =>
      rawSetlink(ns, pfIndex, attr(IFLA_VFINFO_LIST, attr(IFLA_VF_INFO, info)));
    const guid = 0x0200000000000001n;
    // The whole struct ifla_vf_guid: the request reaches the driver, which has no handler.
    assert.equal(request(attr(IFLA_VF_IB_NODE_GUID, vfGuid(0, guid))), -NleCode.OpNotSupp);
    // A struct cut short fails the kernel's attribute policy (ifla_vf_policy), which says ERANGE.
    assert.equal(
      request(attr(IFLA_VF_IB_NODE_GUID, vfGuid(0, guid).subarray(0, 12))),
      -NleCode.Range,
    );
    // An IFLA_VF_INFO with nothing to set, and a list entry that is not an IFLA_VF_INFO.
    assert.equal(request(new Uint8Array(0)), -NleCode.Inval);
    assert.equal(
      rawSetlink(
        ns,
        pfIndex,
        attr(IFLA_VFINFO_LIST, attr(2, attr(IFLA_VF_IB_NODE_GUID, vfGuid(0, guid)))),
      ),
      -NleCode.Inval,
    );
  });
});

Deno.test("LibnlNetlink.setVf() puts the VF index where the kernel reads it: VF INT_MAX is EINVAL", async () => {
  // do_setvfinfo() checks `vf >= INT_MAX` of each struct before it looks for the driver's
  // handler: a request whose index the kernel reads as INT_MAX fails with EINVAL, not EOPNOTSUPP.
  await withVethPf((netlink, _temp, ns, pfIndex) => {
    const changes = [
      { linkState: "disable" as const },
      { nodeGuid: "02:00:00:00:00:00:00:01" },
      { portGuid: "02:00:00:00:00:00:00:02" },
    ];
    for (const change of changes) {
      assert.throws(() => netlink.setVf(ns, pfIndex, 0x7fffffff, change), (error: unknown) => {
        assert.ok(error instanceof NetlinkError, `got ${error}`);
        assert.equal(error.code, NleCode.Inval);
        return true;
      });
      assertUnsupported(() => netlink.setVf(ns, pfIndex, 0x7ffffffe, change), {
        message: "Operation not supported",
      });
    }
  });
});

Deno.test("receiveMessages() keeps the kernel's errno that libnl turns into NLE_FAILURE, as it does EMSGSIZE", async () => {
  // No PF here can make the kernel answer a VF list with EMSGSIZE (that needs a driver with
  // many VFs), so another errno libnl does not know stands in: RTM_GETROUTE to an address no
  // route reaches, in a namespace whose only link is down, gets ENETUNREACH.
  await withTempNetns(1, ([temp]) => {
    assert.ok(temp !== undefined);
    using ns = openNetns(temp.path);
    // struct rtmsg: family, dst_len 32, then zeros; RTA_DST 203.0.113.1.
    const rtmsg = new Uint8Array(12);
    rtmsg.set([AF_INET, 32]);
    const body = concat([rtmsg, attr(RTA_DST, new Uint8Array([203, 0, 113, 1]))]);
    const { rc, messages, errno } = rawRequest(ns, RTM_GETROUTE, body, receiveMessages);
    assert.deepEqual([rc, messages, errno], [-NleCode.Failure, [], 101]);
    const error = netlinkError(rc, undefined, errno);
    assert.deepEqual(
      [error.errnoName, error.message],
      ["ENETUNREACH", "Unspecific failure (ENETUNREACH)"],
    );
  });
});

Deno.test("LibcPciDriver.unbind() and bind() of an address no device has get ENODEV from the driver core", () => {
  // Any real PCI driver will do: the driver core looks the address up and finds no device, so
  // nothing is unbound or bound.
  const [driver] = readDir("/sys/bus/pci/drivers").sort();
  assert.ok(driver !== undefined, "this machine has no PCI driver");
  const pci = new LibcPciDriver();
  for (const op of ["unbind", "bind"] as const) {
    const path = `/sys/bus/pci/drivers/${driver}/${op}`;
    assert.throws(() => pci[op]("ffff:ff:1f.7", driver), (error: unknown) => {
      assert.ok(error instanceof PciDriverError, `got ${error}`);
      assert.deepEqual(
        {
          code: error.code,
          path: error.path,
          op: error.op,
          errnoName: error.cause instanceof LibcError ? error.cause.errnoName : null,
          message: error.message,
        },
        { code: "io", path, op, errnoName: "ENODEV", message: "No such device" },
      );
      return true;
    });
  }
});
