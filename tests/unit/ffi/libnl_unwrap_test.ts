import assert from "node:assert/strict";
import {
  DUMP_ATTEMPTS,
  NetlinkError,
  netlinkError,
  NleCode,
  retryDumpIntr,
  unwrap,
  unwrapPointer,
} from "../../../ffi/unwrap.ts";

/** Stands in for nl_geterror(): names the code it was given. */
const fakeGeterror = (code: number) => `text of ${code}`;

Deno.test("unwrap() passes zero and positive results through", () => {
  assert.equal(unwrap(0, fakeGeterror), 0);
  assert.equal(unwrap(42, fakeGeterror), 42);
});

Deno.test("unwrap() throws NetlinkError with the positive code, errno name and libnl's text", () => {
  assert.throws(() => unwrap(-NleCode.Busy, fakeGeterror), (error: unknown) => {
    assert.ok(error instanceof NetlinkError);
    assert.equal(error.name, "NetlinkError");
    assert.equal(error.code, 25);
    assert.equal(error.errnoName, "EBUSY");
    assert.equal(error.message, "text of 25");
    return true;
  });
});

Deno.test("unwrap() maps each NLE code to the errno libnl made it from", () => {
  const table: Array<[number, string | null]> = [
    [NleCode.Exist, "EEXIST"],
    [NleCode.Inval, "EINVAL"],
    [NleCode.Range, "ERANGE"],
    [NleCode.OpNotSupp, "EOPNOTSUPP"],
    [NleCode.ObjNotFound, "ENOENT"],
    [NleCode.NoDev, "ENODEV"],
    [NleCode.Perm, "EPERM"],
    [NleCode.NoAccess, "EACCES"],
    [NleCode.NoAddr, "EADDRNOTAVAIL"],
    [NleCode.NoMem, "ENOMEM"],
    // libnl's own codes, and ones it maps many errnos to, have no single errno.
    [NleCode.Failure, null],
    [NleCode.MsgTooShort, null],
    [NleCode.DumpIntr, null],
    [99, null],
  ];
  for (const [code, errnoName] of table) {
    assert.throws(() => unwrap(-code, fakeGeterror), (error: unknown) => {
      assert.ok(error instanceof NetlinkError);
      assert.equal(error.code, code);
      assert.equal(error.errnoName, errnoName, `NLE code ${code}`);
      return true;
    });
  }
});

Deno.test("unwrapPointer() passes a pointer through and turns NULL into NLE_NOMEM", () => {
  const pointer = Deno.UnsafePointer.create(0x1000n);
  assert.ok(pointer !== null);
  assert.equal(unwrapPointer(pointer, fakeGeterror), pointer);
  assert.throws(() => unwrapPointer(null, fakeGeterror), (error: unknown) => {
    assert.ok(error instanceof NetlinkError);
    assert.equal(error.code, NleCode.NoMem);
    assert.equal(error.message, "text of 5");
    return true;
  });
});

Deno.test("retryDumpIntr() retries an interrupted dump until it succeeds", () => {
  const results = [-NleCode.DumpIntr, -NleCode.DumpIntr, 0];
  let calls = 0;
  const rc = retryDumpIntr(() => results[calls++] ?? 0, fakeGeterror);
  assert.equal(rc, 0);
  assert.equal(calls, 3);
});

Deno.test("retryDumpIntr() gives up with NLE_DUMP_INTR after DUMP_ATTEMPTS attempts", () => {
  let calls = 0;
  const dump = () => {
    calls++;
    return -NleCode.DumpIntr;
  };
  assert.throws(() => retryDumpIntr(dump, fakeGeterror), (error: unknown) => {
    assert.ok(error instanceof NetlinkError);
    assert.equal(error.code, NleCode.DumpIntr);
    assert.equal(error.message, "text of 33");
    return true;
  });
  assert.equal(calls, DUMP_ATTEMPTS);
});

Deno.test("retryDumpIntr() does not retry other errors", () => {
  let calls = 0;
  const dump = () => {
    calls++;
    return -NleCode.Perm;
  };
  assert.throws(() => retryDumpIntr(dump, fakeGeterror), (error: unknown) => {
    assert.ok(error instanceof NetlinkError);
    assert.equal(error.code, NleCode.Perm);
    return true;
  });
  assert.equal(calls, 1);
});

Deno.test("netlinkError() names the kernel's errno where libnl's code lost it", () => {
  const table: Array<[number, number, string, string]> = [
    // libnl 3.7's nl_syserr2nlerr() makes EMSGSIZE NLE_FAILURE, "Unspecific failure".
    [NleCode.Failure, 90, "EMSGSIZE", "text of 1 (EMSGSIZE)"],
    [NleCode.ObjNotFound, 3, "ESRCH", "text of 12 (ESRCH)"],
    [NleCode.NoDev, 19, "ENODEV", "text of 31"],
  ];
  for (const [code, errno, errnoName, reason] of table) {
    const error = netlinkError(-code, fakeGeterror, errno);
    assert.deepEqual([error.code, error.errnoName, error.message], [code, errnoName, reason]);
  }
});
