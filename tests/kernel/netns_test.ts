/**
 * Namespace handles and switching against the real kernel. Needs root.
 *
 * @module
 */

import assert from "node:assert/strict";
import { NlSocket } from "../../ffi/rtnetlink.ts";
import { LibcError } from "../../ffi/errno.ts";
import { readlink } from "../../ffi/sysfs_libc.ts";
import { CLONE_NEWNET, close, setns } from "../../ffi/netns_libc.ts";
import {
  hostNetns,
  LibnlNetlink,
  openNetns,
  THREAD_NETNS_PATH,
  withNetns,
} from "../../lib/netlink/mod.ts";
import { addVeth, lostNetns, NETNS_DIR, randomSuffix, withTempNetns } from "./_netns_fixture.ts";

/** The `net:[<inode>]` link of the calling thread's namespace. */
function currentNetns(): string {
  return readlink(THREAD_NETNS_PATH);
}

/** The `net:[<inode>]` form of a bind-mounted namespace. */
function netnsId(path: string): string {
  return `net:[${Deno.statSync(path).ino}]`;
}

/** What an fd of this thread points to, or `null` when it is not open. */
function fdTarget(fd: number): string | null {
  try {
    return readlink(`/proc/thread-self/fd/${fd}`);
  } catch (error) {
    if (error instanceof LibcError && error.errnoName === "ENOENT") return null;
    throw error;
  }
}

Deno.test("openNetns() fails with ENOENT for a path that does not exist", () => {
  const path = `${NETNS_DIR}/ibsriov-test-absent-${randomSuffix()}`;
  assert.throws(() => openNetns(path), (error: unknown) => {
    assert.ok(error instanceof LibcError);
    assert.equal(error.errnoName, "ENOENT");
    assert.equal(error.message, "no such file");
    return true;
  });
});

Deno.test("openNetns() fails with EINVAL for a regular file, which is no netns", () => {
  const path = Deno.makeTempFileSync({ prefix: "ibsriov-test-" });
  try {
    assert.throws(() => openNetns(path), (error: unknown) => {
      assert.ok(error instanceof LibcError);
      assert.equal(error.errnoName, "EINVAL");
      assert.equal(error.message, "not a network namespace");
      return true;
    });
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("openNetns() refuses a FIFO at once instead of waiting for a writer", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "ibsriov-test-" });
  try {
    const path = `${dir}/fifo`;
    const mkfifo = await new Deno.Command("mkfifo", { args: [path] }).output();
    assert.equal(mkfifo.code, 0);
    assert.throws(() => openNetns(path), (error: unknown) => {
      assert.ok(error instanceof LibcError);
      assert.equal(error.errnoName, "EINVAL");
      assert.equal(error.message, "not a network namespace");
      return true;
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openNetns() holds a namespace open until close(), which is idempotent", async () => {
  await withTempNetns(1, ([temp]) => {
    assert.ok(temp !== undefined);
    const ns = openNetns(temp.path);
    assert.equal(ns.path, temp.path);
    assert.ok(ns.fd >= 0);
    const fd = ns.fd;
    assert.equal(withNetns(ns, currentNetns, lostNetns), netnsId(temp.path));
    ns.close();
    // The descriptor is gone (or, if reused already, no longer this namespace).
    assert.equal(fdTarget(fd)?.endsWith(temp.name) ?? false, false);
    assert.equal(ns.fd, -1);
    ns.close();
    assert.equal(ns.fd, -1);
  });
});

Deno.test("hostNetns() opens the namespace the thread is in", () => {
  using host = hostNetns();
  assert.equal(host.path, THREAD_NETNS_PATH);
  assert.equal(readlink(`/proc/thread-self/fd/${host.fd}`), currentNetns());
});

Deno.test("withNetns() runs inside the namespace and switches back", async () => {
  await withTempNetns(1, ([temp]) => {
    assert.ok(temp !== undefined);
    using ns = openNetns(temp.path);
    const before = currentNetns();
    assert.notEqual(before, netnsId(temp.path));
    const inside = withNetns(ns, () => currentNetns(), lostNetns);
    assert.equal(inside, netnsId(temp.path));
    assert.equal(currentNetns(), before);
  });
});

Deno.test("withNetns() switches back when fn throws, and rethrows", async () => {
  await withTempNetns(1, ([temp]) => {
    assert.ok(temp !== undefined);
    using ns = openNetns(temp.path);
    const before = currentNetns();
    const thrown = new RangeError("from inside");
    assert.throws(
      () =>
        withNetns(ns, () => {
          assert.equal(currentNetns(), netnsId(temp.path));
          throw thrown;
        }, lostNetns),
      (error: unknown) => error === thrown,
    );
    assert.equal(currentNetns(), before);
  });
});

Deno.test("withNetns() rejects an async fn with TypeError after switching back", async () => {
  await withTempNetns(1, ([temp]) => {
    assert.ok(temp !== undefined);
    using ns = openNetns(temp.path);
    const before = currentNetns();
    assert.throws(
      () => withNetns(ns, () => Promise.reject(new Error("async")), lostNetns),
      (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.equal(
          error.message,
          `withNetns("${temp.path}") needs a synchronous function; it returned a promise`,
        );
        return true;
      },
    );
    assert.equal(currentNetns(), before);
  });
});

Deno.test("withNetns() hands a failed switch back to lost, which never returns, naming the netns", async () => {
  await withTempNetns(1, ([temp]) => {
    assert.ok(temp !== undefined);
    using ns = openNetns(temp.path);
    using own = hostNetns();
    const before = currentNetns();
    const lost: string[] = [];
    assert.throws(
      () =>
        withNetns(ns, () => {
          // Close withNetns's own handle to the host netns: the kernel refuses the switch back.
          for (const { name } of Deno.readDirSync("/proc/thread-self/fd")) {
            const fd = Number(name);
            if (fd !== own.fd && fdTarget(fd) === before) close(fd);
          }
        }, (message) => {
          lost.push(message);
          setns(own.fd, CLONE_NEWNET);
          throw new Error("stopped");
        }),
      { message: "stopped" },
    );
    assert.deepEqual(lost, [`Cannot return from netns "${temp.path}": Bad file descriptor`]);
    assert.equal(currentNetns(), before);
  });
});

Deno.test("new NlSocket() inside withNetns() keeps working in that namespace from the host", async () => {
  await withTempNetns(1, ([temp]) => {
    assert.ok(temp !== undefined);
    addVeth(temp.name, "vtest0", "vtest1");
    using ns = openNetns(temp.path);
    const before = currentNetns();
    using podSocket = withNetns(ns, () => new NlSocket(), lostNetns);
    using hostSocket = new NlSocket();
    // Back in the host namespace, the pod's socket still sees the pod's links, and only those.
    assert.equal(currentNetns(), before);
    assert.equal(podSocket.getLink({ name: "vtest0" })?.name, "vtest0");
    assert.equal(hostSocket.getLink({ name: "vtest0" }), null);
    // And changes made through it land in the pod.
    const index = podSocket.getLink({ name: "vtest0" })?.index ?? 0;
    podSocket.changeLink(index, { name: "net1" });
    assert.equal(podSocket.getLink({ name: "net1" })?.index, index);
    assert.equal(currentNetns(), before);
  });
});

Deno.test("LibnlNetlink makes changes in a namespace without leaving the host", async () => {
  await withTempNetns(1, ([temp]) => {
    assert.ok(temp !== undefined);
    addVeth(temp.name, "vtest0", "vtest1");
    using netlink = new LibnlNetlink(lostNetns);
    using ns = netlink.openNetns(temp.path);
    const before = currentNetns();
    const link = netlink.linkByName(ns, "vtest0");
    assert.ok(link !== null);
    netlink.setLinkUp(ns, link.index, true);
    assert.equal(currentNetns(), before);
    assert.equal(netlink.linkByIndex(ns, link.index)?.up, true);
  });
});
