/**
 * The one place where libnl's integer results become errors.
 *
 * libnl returns `0` or a positive count on success and a negative `NLE_*` code on failure. It maps
 * the kernel's errno to an `NLE_*` code on the way (`nl_syserr2nlerr()`), which loses detail:
 * ENOENT and ESRCH both become `NLE_OBJ_NOTFOUND`, EEXIST and EADDRINUSE both `NLE_EXIST`.
 * {@linkcode NetlinkError} keeps the `NLE_*` code and names the errno it most likely came from.
 *
 * @module
 */

import { readCString } from "./c_string.ts";
import { Errno, errnoName } from "./errno.ts";
import { openLibnl } from "./libnl.ts";

/** libnl's error codes (`<netlink/errno.h>`); functions return them negated. */
export const NleCode = {
  Failure: 1,
  Intr: 2,
  BadSock: 3,
  Again: 4,
  NoMem: 5,
  Exist: 6,
  Inval: 7,
  Range: 8,
  MsgSize: 9,
  OpNotSupp: 10,
  AfNoSupport: 11,
  ObjNotFound: 12,
  NoAttr: 13,
  MissingAttr: 14,
  AfMismatch: 15,
  SeqMismatch: 16,
  MsgOverflow: 17,
  MsgTrunc: 18,
  NoAddr: 19,
  SrcRtNoSupport: 20,
  MsgTooShort: 21,
  MsgTypeNoSupport: 22,
  ObjMismatch: 23,
  NoCache: 24,
  Busy: 25,
  ProtoMismatch: 26,
  NoAccess: 27,
  Perm: 28,
  PktLocFile: 29,
  ParseErr: 30,
  NoDev: 31,
  Immutable: 32,
  DumpIntr: 33,
  AttrSize: 34,
} as const;

/**
 * The errno each `NLE_*` code stands for, the inverse of libnl's `nl_syserr2nlerr()`. Where two
 * errnos share a code, the one the kernel's rtnetlink handlers return is named. Codes that only
 * libnl itself produces have no entry.
 */
const NLE_ERRNO: Readonly<Record<number, number>> = {
  [NleCode.Intr]: Errno.EINTR,
  [NleCode.BadSock]: Errno.EBADF,
  [NleCode.Again]: Errno.EAGAIN,
  [NleCode.NoMem]: Errno.ENOMEM,
  [NleCode.Exist]: Errno.EEXIST,
  [NleCode.Inval]: Errno.EINVAL,
  [NleCode.Range]: Errno.ERANGE,
  [NleCode.OpNotSupp]: Errno.EOPNOTSUPP,
  [NleCode.AfNoSupport]: Errno.EAFNOSUPPORT,
  [NleCode.ObjNotFound]: Errno.ENOENT,
  [NleCode.NoAddr]: Errno.EADDRNOTAVAIL,
  [NleCode.Busy]: Errno.EBUSY,
  [NleCode.ProtoMismatch]: Errno.EPROTONOSUPPORT,
  [NleCode.NoAccess]: Errno.EACCES,
  [NleCode.Perm]: Errno.EPERM,
  [NleCode.NoDev]: Errno.ENODEV,
};

/** How many times a dump interrupted by a concurrent change is tried before giving up. */
export const DUMP_ATTEMPTS = 5;

/** What a failed call was doing, for the error message. */
export interface ErrorContext {
  /** What was attempted, e.g. `Cannot move link`. */
  op: string;
  /**
   * What it was attempted on, e.g. `"ib3" to netns "/var/run/netns/x"`. A function is called only
   * when the call failed (so that a name can be looked up then); it must not throw.
   */
  subject: string | (() => string);
}

/** The fields of a {@linkcode NetlinkError}. */
export interface NetlinkErrorInit {
  /** The positive `NLE_*` code. */
  code: number;
  /** What was attempted. */
  op: string;
  /** What it was attempted on. */
  subject: string;
  /** libnl's text for the code, e.g. `Object busy`. */
  reason: string;
  /** The kernel's own errno, when its error reply was seen: libnl's code may have lost it. */
  errno?: number | undefined;
}

/**
 * A libnl call failed. The message is `<op> <subject>: <libnl's text>`, e.g.
 * `Cannot rename link "veth0" to "net1" in netns "/var/run/netns/x": Object busy`.
 */
export class NetlinkError extends Error {
  override name = "NetlinkError";
  /** The positive `NLE_*` code (see {@linkcode NleCode}). */
  readonly code: number;
  /** The errno the code most likely came from (`"EBUSY"`), `null` for libnl's own codes. */
  readonly errnoName: string | null;
  /** What was attempted. */
  readonly op: string;
  /** What it was attempted on. */
  readonly subject: string;
  /** libnl's text for the code, for callers that say what was attempted their own way. */
  readonly reason: string;

  /**
   * @param message The full message.
   * @param init The code, the operation, its subject and libnl's text.
   * @param options `cause`
   */
  constructor(message: string, init: NetlinkErrorInit, options?: ErrorOptions) {
    super(message, options);
    this.code = init.code;
    const errno = init.errno ?? NLE_ERRNO[init.code];
    this.errnoName = errno === undefined ? null : errnoName(errno);
    this.op = init.op;
    this.subject = init.subject;
    this.reason = init.reason;
  }
}

/** Reads libnl's text for an error code with `nl_geterror()`. */
function libnlErrorText(code: number): string {
  const text = openLibnl().core.nl_geterror(code);
  return text === null ? `libnl error ${code}` : readCString(text);
}

/**
 * Builds the error for a failed call.
 *
 * @param code The positive or negative `NLE_*` code.
 * @param context What was attempted, on what.
 * @param geterror Turns a code into text; libnl's `nl_geterror()` unless replaced (in tests).
 * @param errno The kernel's errno, when its error reply was seen (see `receiveMessages()`).
 * @returns The error, not thrown.
 */
export function netlinkError(
  code: number,
  context: ErrorContext,
  geterror: (code: number) => string = libnlErrorText,
  errno?: number,
): NetlinkError {
  const positive = Math.abs(code);
  const subject = typeof context.subject === "function" ? context.subject() : context.subject;
  const text = geterror(positive);
  // libnl turns every errno it does not know (EMSGSIZE among them) into NLE_FAILURE.
  const reason = errno === undefined || NLE_ERRNO[positive] === errno
    ? text
    : `${text} (${errnoName(errno)})`;
  return new NetlinkError(`${context.op} ${subject}: ${reason}`, {
    code: positive,
    op: context.op,
    subject,
    reason,
    errno,
  });
}

/**
 * Passes a libnl result through when it is not an error.
 *
 * @param rc What the libnl function returned.
 * @param context What was attempted, on what, for the message.
 * @param geterror Turns a code into text; libnl's `nl_geterror()` unless replaced (in tests).
 * @returns `rc` when it is `>= 0`.
 * @throws {NetlinkError} When `rc < 0`, with `code` `-rc`.
 *
 * @example
 * ```ts ignore
 * unwrap(route.rtnl_link_change(sk, orig, changes, 0), {
 *   op: "Cannot rename link",
 *   subject: '"veth0" to "net1"',
 * });
 * ```
 */
export function unwrap(
  rc: number,
  context: ErrorContext,
  geterror: (code: number) => string = libnlErrorText,
): number {
  if (rc >= 0) return rc;
  throw netlinkError(rc, context, geterror);
}

/**
 * Checks the result of a libnl allocator, which returns NULL only when out of memory.
 *
 * @param pointer What the allocator returned.
 * @param context What was attempted, on what, for the message.
 * @param geterror Turns a code into text; libnl's `nl_geterror()` unless replaced (in tests).
 * @returns The pointer when it is not NULL.
 * @throws {NetlinkError} With `code` `NLE_NOMEM` when it is NULL.
 */
export function unwrapPointer(
  pointer: Deno.PointerValue,
  context: ErrorContext,
  geterror: (code: number) => string = libnlErrorText,
): Deno.PointerObject {
  if (pointer !== null) return pointer;
  throw netlinkError(NleCode.NoMem, context, geterror);
}

/**
 * Runs a dump and retries it while the kernel reports that the dump was interrupted by a
 * concurrent change (`-NLE_DUMP_INTR`): the partial result is inconsistent, and a new dump
 * usually succeeds. Gives up after {@linkcode DUMP_ATTEMPTS} attempts.
 *
 * @param dump Runs the dump once and returns libnl's result.
 * @param context What was attempted, on what, for the message.
 * @param geterror Turns a code into text; libnl's `nl_geterror()` unless replaced (in tests).
 * @returns The first result that is not an error.
 * @throws {NetlinkError} With the dump's error, or `NLE_DUMP_INTR` once the attempts are spent.
 */
export function retryDumpIntr(
  dump: () => number,
  context: ErrorContext,
  geterror: (code: number) => string = libnlErrorText,
): number {
  let rc = dump();
  for (let attempt = 1; attempt < DUMP_ATTEMPTS && rc === -NleCode.DumpIntr; attempt++) {
    rc = dump();
  }
  return unwrap(rc, context, geterror);
}
