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

/**
 * A libnl call failed. The message is libnl's text for the code (`Object busy`); the caller says
 * what it was doing, and on what.
 */
export class NetlinkError extends Error {
  override name = "NetlinkError";
  /** The errno the code most likely came from (`"EBUSY"`), `null` for libnl's own codes. */
  readonly errnoName: string | null;

  /**
   * @param code The positive `NLE_*` code; `message` is libnl's text, or what did not parse.
   * @param errno The kernel's own errno, when its error reply was seen: libnl's code may have lost
   *   it.
   */
  constructor(readonly code: number, message: string, errno?: number, options?: ErrorOptions) {
    super(message, options);
    errno ??= NLE_ERRNO[code];
    this.errnoName = errno === undefined ? null : errnoName(errno);
  }
}

/** Turns a code into text: libnl's `nl_geterror()`, unless a test gives its own. */
export type Geterror = (code: number) => string;

function libnlErrorText(code: number): string {
  const text = openLibnl().core.nl_geterror(code);
  return text === null ? `libnl error ${code}` : readCString(text);
}

/**
 * The error of a failed call (`code` positive or negative), with libnl's text, and the kernel's
 * errno when its error reply was seen (see `receiveMessages()`): libnl turns every errno it does
 * not know (EMSGSIZE among them) into NLE_FAILURE.
 */
export function netlinkError(
  code: number,
  geterror: Geterror = libnlErrorText,
  errno?: number,
): NetlinkError {
  const positive = Math.abs(code);
  const text = geterror(positive);
  const reason = errno === undefined || NLE_ERRNO[positive] === errno
    ? text
    : `${text} (${errnoName(errno)})`;
  return new NetlinkError(positive, reason, errno);
}

/** Passes a libnl result through when it is not an error (`>= 0`); else throws `-rc`'s. */
export function unwrap(rc: number, geterror: Geterror = libnlErrorText): number {
  if (rc >= 0) return rc;
  throw netlinkError(rc, geterror);
}

/** Checks the result of a libnl allocator, which returns NULL only when out of memory. */
export function unwrapPointer(
  pointer: Deno.PointerValue,
  geterror: Geterror = libnlErrorText,
): Deno.PointerObject {
  if (pointer !== null) return pointer;
  throw netlinkError(NleCode.NoMem, geterror);
}

/**
 * Runs a dump and retries it while the kernel reports that the dump was interrupted by a
 * concurrent change (`-NLE_DUMP_INTR`): the partial result is inconsistent, and a new dump
 * usually succeeds. Gives up after {@linkcode DUMP_ATTEMPTS} attempts.
 *
 * @throws {NetlinkError} With the dump's error, or `NLE_DUMP_INTR` once the attempts are spent.
 */
export function retryDumpIntr(dump: () => number, geterror: Geterror = libnlErrorText): number {
  let rc = dump();
  for (let attempt = 1; attempt < DUMP_ATTEMPTS && rc === -NleCode.DumpIntr; attempt++) {
    rc = dump();
  }
  return unwrap(rc, geterror);
}
