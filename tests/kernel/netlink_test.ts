/**
 * LibnlNetlink against the real kernel, in throwaway namespaces with veth pairs. Needs root.
 *
 * @module
 */

import assert from "node:assert/strict";
import { NlSocket } from "../../ffi/rtnetlink.ts";
import { LibnlNetlink, NetlinkError, NleCode } from "../../lib/netlink/mod.ts";
import {
  addVeth,
  ifindexOf,
  ip,
  ipJson,
  lostNetns,
  type TempNetns,
  withTempNetns,
} from "./_netns_fixture.ts";

/** Runs `fn` with a fresh LibnlNetlink and the namespaces opened through it. */
async function withNetlink(
  count: number,
  fn: (
    netlink: LibnlNetlink,
    namespaces: Array<TempNetns & { ns: ReturnType<LibnlNetlink["openNetns"]> }>,
  ) => void,
): Promise<void> {
  await withTempNetns(count, (temps) => {
    using netlink = new LibnlNetlink(lostNetns);
    const opened = temps.map((t) => ({ ...t, ns: netlink.openNetns(t.path) }));
    try {
      fn(netlink, opened);
    } finally {
      for (const o of opened) o.ns.close();
    }
  });
}

/** The first namespace of a `withNetlink` list. */
function first<T>(items: T[]): T {
  const item = items[0];
  assert.ok(item !== undefined);
  return item;
}

interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  address: string;
  altnames?: string[];
}

Deno.test("LibnlNetlink.linkByName() and linkByIndex() find a veth and return null for none", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { name, ns } = first(namespaces);
    addVeth(name, "vtest0", "vtest1");
    const [expected] = ipJson<IpLink[]>("-n", name, "link", "show", "dev", "vtest0");
    assert.ok(expected !== undefined);

    const byName = netlink.linkByName(ns, "vtest0");
    assert.deepEqual(byName, {
      index: expected.ifindex,
      name: "vtest0",
      mtu: expected.mtu,
      address: expected.address,
      up: false,
      altNames: [],
    });
    assert.deepEqual(netlink.linkByIndex(ns, expected.ifindex), byName);
    assert.equal(netlink.linkByName(ns, "missing0"), null);
    assert.equal(netlink.linkByIndex(ns, 99999), null);
  });
});

Deno.test("LibnlNetlink.linkByName() does not see links of the host namespace", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { ns } = first(namespaces);
    using host = netlink.hostNetns();
    const [hostLink] = ipJson<IpLink[]>("link", "show")
      .filter((l) => l.ifname !== "lo");
    assert.ok(hostLink !== undefined, "the host needs one link besides lo");
    assert.equal(netlink.linkByName(host, hostLink.ifname)?.index, hostLink.ifindex);
    assert.equal(netlink.linkByName(ns, hostLink.ifname), null);
  });
});

Deno.test("LibnlNetlink.setLinkUp() sets IFF_UP and keeps the other flags", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { name, ns } = first(namespaces);
    addVeth(name, "vtest0", "vtest1");
    const index = ifindexOf(name, "vtest0");
    const flagsBefore = ipJson<IpLink[]>("-n", name, "link", "show", "dev", "vtest0")[0]?.flags;

    netlink.setLinkUp(ns, index, true);
    assert.equal(netlink.linkByIndex(ns, index)?.up, true);
    const flagsUp = ipJson<IpLink[]>("-n", name, "link", "show", "dev", "vtest0")[0]?.flags;
    assert.ok(flagsUp?.includes("UP"));
    // libnl builds ifi_flags from the original link: MULTICAST and BROADCAST must survive.
    assert.ok(flagsUp?.includes("MULTICAST"));
    assert.ok(flagsUp?.includes("BROADCAST"));

    netlink.setLinkUp(ns, index, false);
    assert.equal(netlink.linkByIndex(ns, index)?.up, false);
    assert.deepEqual(
      ipJson<IpLink[]>("-n", name, "link", "show", "dev", "vtest0")[0]?.flags,
      flagsBefore,
    );
  });
});

Deno.test("LibnlNetlink.setLinkUp() throws NLE_NODEV, in libnl's words, when the link is gone", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { ns } = first(namespaces);
    assert.throws(() => netlink.setLinkUp(ns, 99999, true), (error: unknown) => {
      assert.ok(error instanceof NetlinkError);
      assert.equal(error.code, NleCode.NoDev);
      assert.equal(error.errnoName, "ENODEV");
      assert.equal(error.message, "No such device");
      return true;
    });
  });
});

Deno.test("LibnlNetlink.renameLink() renames a link that is down", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { name, ns } = first(namespaces);
    addVeth(name, "vtest0", "vtest1");
    const index = ifindexOf(name, "vtest0");
    netlink.renameLink(ns, index, "net1");
    assert.equal(netlink.linkByIndex(ns, index)?.name, "net1");
    assert.equal(netlink.linkByName(ns, "vtest0"), null);
    assert.equal(ifindexOf(name, "net1"), index);
  });
});

/** Whether the running kernel renames links that are up (Linux 6.2 and later do). */
function kernelRenamesLinksThatAreUp(): boolean {
  const [major = 0, minor = 0] = Deno.osRelease().split(".").map((part) => parseInt(part, 10));
  return major > 6 || (major === 6 && minor >= 2);
}

Deno.test("LibnlNetlink.renameLink() on a link that is up follows the kernel", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { name, ns } = first(namespaces);
    addVeth(name, "vtest0", "vtest1");
    const index = ifindexOf(name, "vtest0");
    netlink.setLinkUp(ns, index, true);
    if (kernelRenamesLinksThatAreUp()) {
      // Linux 6.2 lifted the EBUSY: the link is renamed and stays up.
      netlink.renameLink(ns, index, "net1");
      assert.equal(netlink.linkByIndex(ns, index)?.name, "net1");
      assert.equal(netlink.linkByIndex(ns, index)?.up, true);
      return;
    }
    assert.throws(() => netlink.renameLink(ns, index, "net1"), (error: unknown) => {
      assert.ok(error instanceof NetlinkError);
      assert.equal(error.code, NleCode.Busy);
      assert.equal(error.errnoName, "EBUSY");
      assert.equal(error.message, "Object busy");
      return true;
    });
    assert.equal(netlink.linkByIndex(ns, index)?.name, "vtest0");
  });
});

Deno.test("LibnlNetlink.renameLink() fails with NLE_EXIST for a name in use", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { name, ns } = first(namespaces);
    addVeth(name, "vtest0", "vtest1");
    assert.throws(
      () => netlink.renameLink(ns, ifindexOf(name, "vtest0"), "vtest1"),
      (error: unknown) => {
        assert.ok(error instanceof NetlinkError);
        assert.equal(error.code, NleCode.Exist);
        assert.equal(error.errnoName, "EEXIST");
        assert.equal(error.message, "Object exists");
        return true;
      },
    );
  });
});

Deno.test("LibnlNetlink.deleteAltName() removes an altname that ip added", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { name, ns } = first(namespaces);
    addVeth(name, "vtest0", "vtest1");
    const index = ifindexOf(name, "vtest0");
    // Longer than IFNAMSIZ on purpose: altnames may be, and lookups must then use IFLA_ALT_IFNAME.
    const longAlt = "ibsriov-long-altname-0";
    ip("-n", name, "link", "property", "add", "dev", "vtest0", "altname", "alt0");
    ip("-n", name, "link", "property", "add", "dev", "vtest0", "altname", longAlt);
    assert.deepEqual(netlink.linkByIndex(ns, index)?.altNames, ["alt0", longAlt]);
    // The kernel matches alternative names in a lookup by name.
    assert.equal(netlink.linkByName(ns, "alt0")?.name, "vtest0");
    assert.equal(netlink.linkByName(ns, longAlt)?.name, "vtest0");

    netlink.deleteAltName(ns, index, "alt0");
    assert.deepEqual(netlink.linkByIndex(ns, index)?.altNames, [longAlt]);
    assert.deepEqual(ipJson<IpLink[]>("-n", name, "link", "show", "dev", "vtest0")[0]?.altnames, [
      longAlt,
    ]);
    assert.equal(netlink.linkByName(ns, "alt0"), null);
    netlink.deleteAltName(ns, index, longAlt);
    assert.deepEqual(netlink.linkByIndex(ns, index)?.altNames, []);
  });
});

Deno.test("LibnlNetlink.addAltName() adds an altname ip sees, and refuses one taken in the netns", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { name, ns } = first(namespaces);
    addVeth(name, "vtest0", "vtest1");
    const index = ifindexOf(name, "vtest0");
    const longAlt = "ibsriov-long-altname-1";
    netlink.addAltName(ns, index, "alt0");
    netlink.addAltName(ns, index, longAlt);
    assert.deepEqual(ipJson<IpLink[]>("-n", name, "link", "show", "dev", "vtest0")[0]?.altnames, [
      "alt0",
      longAlt,
    ]);
    assert.equal(netlink.linkByName(ns, longAlt)?.index, index);
    assert.throws(
      () => netlink.addAltName(ns, ifindexOf(name, "vtest1"), "alt0"),
      (error: unknown) => {
        assert.ok(error instanceof NetlinkError);
        assert.equal(error.errnoName, "EEXIST");
        assert.equal(error.message, "Object exists");
        return true;
      },
    );
  });
});

Deno.test("LibnlNetlink.setMtu() sets the MTU ip sees and refuses one below the minimum", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { name, ns } = first(namespaces);
    addVeth(name, "vtest0", "vtest1");
    const index = ifindexOf(name, "vtest0");
    netlink.setMtu(ns, index, 1400);
    assert.equal(ipJson<IpLink[]>("-n", name, "link", "show", "dev", "vtest0")[0]?.mtu, 1400);
    assert.equal(netlink.linkByIndex(ns, index)?.mtu, 1400);
    // Flags other than the MTU are left alone (libnl sends the original's flags).
    assert.deepEqual(netlink.linkByIndex(ns, index)?.up, false);
    assert.throws(
      () => netlink.setMtu(ns, index, 20),
      (error: unknown) => {
        assert.ok(error instanceof NetlinkError);
        assert.equal(error.errnoName, "EINVAL");
        assert.equal(error.message, "Invalid input data or parameter");
        return true;
      },
    );
  });
});

Deno.test("LibnlNetlink.deleteAltName() fails for a name the link does not have", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { name, ns } = first(namespaces);
    addVeth(name, "vtest0", "vtest1");
    assert.throws(
      () => netlink.deleteAltName(ns, ifindexOf(name, "vtest0"), "nosuch"),
      (error: unknown) => {
        assert.ok(error instanceof NetlinkError);
        assert.equal(error.code, NleCode.ObjNotFound);
        assert.equal(error.errnoName, "ENOENT");
        assert.equal(error.message, "Object not found");
        return true;
      },
    );
  });
});

Deno.test("LibnlNetlink.moveLink() moves a link into another namespace", async () => {
  await withNetlink(2, (netlink, namespaces) => {
    const [a, b] = namespaces;
    assert.ok(a !== undefined && b !== undefined);
    addVeth(a.name, "vtest0", "vtest1");
    const index = ifindexOf(a.name, "vtest0");
    netlink.moveLink(a.ns, index, b.ns);

    assert.equal(netlink.linkByName(a.ns, "vtest0"), null);
    const moved = netlink.linkByName(b.ns, "vtest0");
    assert.ok(moved !== null);
    assert.equal(moved.index, ifindexOf(b.name, "vtest0"));
    // The moved link can be changed through the target's socket.
    netlink.renameLink(b.ns, moved.index, "net1");
    assert.equal(netlink.linkByName(b.ns, "net1")?.index, moved.index);
  });
});

Deno.test("LibnlNetlink.moveLink() with a name moves an up link and renames it in one request", async () => {
  await withNetlink(2, (netlink, namespaces) => {
    const [a, b] = namespaces;
    assert.ok(a !== undefined && b !== undefined);
    addVeth(a.name, "vtest0", "vtest1");
    const index = ifindexOf(a.name, "vtest0");
    netlink.setLinkUp(a.ns, index, true);
    netlink.moveLink(a.ns, index, b.ns, "net1");

    assert.equal(netlink.linkByName(a.ns, "vtest0"), null);
    assert.equal(netlink.linkByName(b.ns, "vtest0"), null);
    const moved = netlink.linkByName(b.ns, "net1");
    assert.ok(moved !== null);
    assert.equal(moved.up, false);
  });
});

// The kernel moves a link under its own name when that is free in the target and renames it
// after, so a clash of the new name alone fails with the link moved (and the message names it by
// its index, as it has left `a`); with its own name taken too, it moves nothing.
for (
  const [what, inTarget, moved] of [
    ["a name taken in the target fails with NLE_EXIST, the link moved under its old name", [
      "net1",
      "net2",
    ], true],
    ["its own and the new name taken in the target moves nothing", ["vtest0", "net1"], false],
  ] as const
) {
  Deno.test(`LibnlNetlink.moveLink() with ${what}`, async () => {
    await withNetlink(2, (netlink, namespaces) => {
      const [a, b] = namespaces;
      assert.ok(a !== undefined && b !== undefined);
      addVeth(a.name, "vtest0", "vtest1");
      addVeth(b.name, inTarget[0], inTarget[1]);
      const index = ifindexOf(a.name, "vtest0");
      assert.throws(
        () => netlink.moveLink(a.ns, index, b.ns, "net1"),
        (error: unknown) => {
          assert.ok(error instanceof NetlinkError);
          assert.equal(error.code, NleCode.Exist);
          assert.equal(error.message, "Object exists");
          return true;
        },
      );
      assert.equal(netlink.linkByName(a.ns, "vtest0")?.index ?? null, moved ? null : index);
      if (moved) assert.ok(netlink.linkByName(b.ns, "vtest0") !== null);
    });
  });
}

Deno.test("LibnlNetlink.moveLink() fails with NLE_EXIST when the target has the name", async () => {
  await withNetlink(2, (netlink, namespaces) => {
    const [a, b] = namespaces;
    assert.ok(a !== undefined && b !== undefined);
    addVeth(a.name, "vtest0", "vtest1");
    addVeth(b.name, "vtest0", "vtest9");
    assert.throws(
      () => netlink.moveLink(a.ns, ifindexOf(a.name, "vtest0"), b.ns),
      (error: unknown) => {
        assert.ok(error instanceof NetlinkError);
        assert.equal(error.code, NleCode.Exist);
        assert.equal(error.message, "Object exists");
        return true;
      },
    );
    assert.ok(netlink.linkByName(a.ns, "vtest0") !== null);
  });
});

Deno.test("LibnlNetlink.addAddress() and listAddresses() handle IPv4 and IPv6", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { name, ns } = first(namespaces);
    addVeth(name, "vtest0", "vtest1");
    const index = ifindexOf(name, "vtest0");
    netlink.setLinkUp(ns, index, true);
    netlink.addAddress(ns, index, "10.99.0.5/24");
    netlink.addAddress(ns, index, "10.98.0.1/32");
    netlink.addAddress(ns, index, "fd00:99::5/64");

    const listed = netlink.listAddresses(ns, index);
    assert.deepEqual(listed.toSorted(), ["10.98.0.1/32", "10.99.0.5/24", "fd00:99::5/64"]);
    // The other end has none; link-local fe80:: addresses are not global.
    assert.deepEqual(netlink.listAddresses(ns, ifindexOf(name, "vtest1")), []);

    const info = ipJson<Array<{ addr_info: Array<{ local: string; broadcast?: string }> }>>(
      "-n",
      name,
      "addr",
      "show",
      "dev",
      "vtest0",
    )[0]?.addr_info ?? [];
    assert.equal(info.find((a) => a.local === "10.99.0.5")?.broadcast, "10.99.0.255");
    assert.equal(info.find((a) => a.local === "10.98.0.1")?.broadcast, undefined);
  });
});

Deno.test("LibnlNetlink.addAddress() fails with NLE_EXIST for an address the link has", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { name, ns } = first(namespaces);
    addVeth(name, "vtest0", "vtest1");
    const index = ifindexOf(name, "vtest0");
    netlink.addAddress(ns, index, "10.99.0.5/24");
    assert.throws(() => netlink.addAddress(ns, index, "10.99.0.5/24"), (error: unknown) => {
      assert.ok(error instanceof NetlinkError);
      assert.equal(error.code, NleCode.Exist);
      assert.equal(error.message, "Object exists");
      return true;
    });
  });
});

Deno.test("LibnlNetlink.addAddress() rejects text that is no address", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { name, ns } = first(namespaces);
    addVeth(name, "vtest0", "vtest1");
    assert.throws(
      () => netlink.addAddress(ns, ifindexOf(name, "vtest0"), "10.99.0.500/24"),
      (error: unknown) => {
        assert.ok(error instanceof NetlinkError);
        // nl_addr_parse()'s answer to an address inet_pton() refuses.
        assert.equal(error.code, NleCode.OpNotSupp);
        assert.equal(error.message, "Operation not supported");
        return true;
      },
    );
  });
});

Deno.test("LibnlNetlink.addRoute() and listRoutes() handle IPv4 and IPv6 routes", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { name, ns } = first(namespaces);
    addVeth(name, "vtest0", "vtest1");
    const index = ifindexOf(name, "vtest0");
    netlink.setLinkUp(ns, ifindexOf(name, "vtest1"), true);
    netlink.setLinkUp(ns, index, true);
    netlink.addAddress(ns, index, "10.99.0.5/24");
    ip("-n", name, "addr", "add", "fd00:99::5/64", "dev", "vtest0", "nodad");

    netlink.addRoute(ns, index, { dst: "0.0.0.0/0", gw: "10.99.0.1" });
    netlink.addRoute(ns, index, { dst: "10.50.0.0/16", gw: "10.99.0.1", priority: 100, mtu: 1400 });
    netlink.addRoute(ns, index, { dst: "10.60.0.0/16" });
    netlink.addRoute(ns, index, { dst: "10.70.0.0/16", gw: "10.99.0.1", table: 100, advmss: 1300 });
    netlink.addRoute(ns, index, { dst: "fd01::/64", gw: "fd00:99::1", priority: 50 });
    netlink.addRoute(ns, index, { dst: "::/0", gw: "fd00:99::1" });

    const routes = netlink.listRoutes(ns, index);
    const byDst = (dst: string, table = 254) =>
      routes.find((r) => r.dst === dst && r.table === table);
    assert.deepEqual(byDst("0.0.0.0/0"), {
      dst: "0.0.0.0/0",
      gw: "10.99.0.1",
      table: 254,
      scope: 0,
    });
    assert.deepEqual(byDst("10.50.0.0/16"), {
      dst: "10.50.0.0/16",
      gw: "10.99.0.1",
      table: 254,
      scope: 0,
      priority: 100,
      mtu: 1400,
    });
    // Without a gateway the route is on-link: scope link.
    assert.deepEqual(byDst("10.60.0.0/16"), { dst: "10.60.0.0/16", table: 254, scope: 253 });
    assert.deepEqual(byDst("10.70.0.0/16", 100), {
      dst: "10.70.0.0/16",
      gw: "10.99.0.1",
      table: 100,
      scope: 0,
      advmss: 1300,
    });
    assert.deepEqual(byDst("fd01::/64"), {
      dst: "fd01::/64",
      gw: "fd00:99::1",
      table: 254,
      scope: 0,
      priority: 50,
    });
    assert.equal(byDst("::/0")?.gw, "fd00:99::1");
    // The kernel's connected route is there too.
    assert.equal(byDst("10.99.0.0/24")?.scope, 253);
    // And ip agrees on what was added.
    const ipRoutes = ipJson<Array<{ dst: string; gateway?: string; metric?: number }>>(
      "-n",
      name,
      "route",
      "show",
      "dev",
      "vtest0",
    );
    assert.ok(
      ipRoutes.some((r) =>
        r.dst === "10.50.0.0/16" && r.gateway === "10.99.0.1" && r.metric === 100
      ),
    );
    // Routes through the other end are not listed.
    assert.deepEqual(
      netlink.listRoutes(ns, ifindexOf(name, "vtest1")).filter((r) => r.dst.startsWith("10.")),
      [],
    );
  });
});

Deno.test("LibnlNetlink.addRoute() fails with NLE_EXIST for a route that exists", async () => {
  await withNetlink(1, (netlink, namespaces) => {
    const { name, ns } = first(namespaces);
    addVeth(name, "vtest0", "vtest1");
    const index = ifindexOf(name, "vtest0");
    netlink.setLinkUp(ns, ifindexOf(name, "vtest1"), true);
    netlink.setLinkUp(ns, index, true);
    netlink.addAddress(ns, index, "10.99.0.5/24");
    netlink.addRoute(ns, index, { dst: "10.50.0.0/16", gw: "10.99.0.1" });
    assert.throws(
      () => netlink.addRoute(ns, index, { dst: "10.50.0.0/16", gw: "10.99.0.1" }),
      (error: unknown) => {
        assert.ok(error instanceof NetlinkError);
        assert.equal(error.code, NleCode.Exist);
        assert.equal(error.message, "Object exists");
        return true;
      },
    );
  });
});

Deno.test("NlSocket.close() is idempotent and a closed socket refuses requests", () => {
  const sock = new NlSocket();
  assert.equal(sock.getLink({ name: "lo" })?.index, 1);
  assert.equal(sock.closed, false);
  sock.close();
  sock.close();
  assert.equal(sock.closed, true);
  assert.throws(() => sock.getLink({ name: "lo" }), {
    name: "Error",
    message: "netlink socket used after close()",
  });
});

Deno.test("LibnlNetlink.sameNetns() tells the host's namespace under another path from a pod's", async () => {
  await withTempNetns(1, ([temp]) => {
    assert.ok(temp !== undefined);
    using netlink = new LibnlNetlink(lostNetns);
    using host = netlink.hostNetns();
    using again = netlink.openNetns("/proc/self/ns/net");
    using pod = netlink.openNetns(temp.path);
    assert.equal(netlink.sameNetns(host, again), true);
    assert.equal(netlink.sameNetns(host, pod), false);
  });
});
