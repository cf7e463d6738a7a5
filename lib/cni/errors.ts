/**
 * CNI error codes, as the CNI specification 1.1 defines them, plus the two that libcni itself
 * uses (8 and 999) and the plugin-specific range starting at 100.
 */
export const CniErrorCode = {
  /** The config's cniVersion is not one this plugin speaks, or forbids the command. */
  IncompatibleVersion: 1,
  /** A field the plugin does not support; the message names the key and the value. */
  UnsupportedField: 2,
  /** The container does not exist or is unknown to the plugin. */
  UnknownContainer: 3,
  /** A CNI_* environment variable is missing or invalid; the message names it. */
  InvalidEnvironment: 4,
  /** Reading stdin or another I/O operation failed. */
  IoFailure: 5,
  /** The network config could not be decoded. */
  DecodingFailure: 6,
  /** The network config is invalid; the message names the field and the value. */
  InvalidNetworkConfig: 7,
  /** CNI_NETNS is not usable (libcni's code). */
  InvalidNetns: 8,
  /** A transient condition: the runtime should retry later. */
  TryAgainLater: 11,
  /** STATUS: the plugin cannot serve ADD now. */
  PluginNotAvailable: 50,
  /** STATUS: the plugin cannot serve ADD and existing containers may be impaired. */
  PluginNotAvailableContainersImpaired: 51,
  /** Plugin-specific: the device named by deviceID cannot be used. */
  DeviceError: 100,
  /** Plugin-specific: a kernel (netlink or sysfs) operation failed. */
  KernelError: 101,
  /** Plugin-specific: the delegated IPAM plugin failed in a way that carried no code. */
  IpamError: 102,
  /** Plugin-specific: the state directory (cache, allocation records, locks) failed. */
  StateError: 103,
  /** Plugin-specific: CHECK found the attachment missing or different from its result. */
  CheckFailed: 104,
  /** Internal error (libcni's code for anything unexpected). */
  Internal: 999,
} as const;

/** A numeric CNI error code. */
export type CniErrorCodeValue = number;

/** The JSON object a CNI plugin prints on failure. */
export interface CniErrorJson {
  cniVersion?: string;
  code: number;
  msg: string;
  details?: string;
}

/**
 * The one error type that crosses the plugin's edge: every failure the runtime sees is a
 * `CniError` with a spec code, a message naming the input that caused it, and details.
 *
 * @example
 * ```ts
 * import { CniError, CniErrorCode } from "./errors.ts";
 * const err = new CniError(CniErrorCode.InvalidNetworkConfig, 'invalid link_state "up"');
 * err.code; // 7
 * ```
 */
export class CniError extends Error {
  override name = "CniError";
  /** The spec's numeric code. */
  readonly code: number;
  /** Extra context for the operator; omitted from the JSON when empty. */
  readonly details: string;

  /**
   * @param code a {@link CniErrorCode} value or a plugin-specific code ≥ 100
   * @param msg a one-line message that names the field or input and its value
   * @param options `details` for the JSON and `cause` for logs
   */
  constructor(code: number, msg: string, options: { details?: string; cause?: unknown } = {}) {
    super(msg, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? "";
  }

  /**
   * Serialises the error as the spec's error object.
   *
   * @param cniVersion the version to put in the object; omitted when empty
   * @returns the JSON-ready object
   */
  toJSON(cniVersion = ""): CniErrorJson {
    const out: CniErrorJson = cniVersion === "" ? { code: this.code, msg: this.message } : {
      cniVersion,
      code: this.code,
      msg: this.message,
    };
    if (this.details !== "") out.details = this.details;
    return out;
  }
}

/**
 * Turns anything thrown into a `CniError`: a `CniError` passes through, anything else becomes
 * code 999 with the error's own message, so the runtime never sees a stack trace.
 *
 * @param err the thrown value
 * @returns a `CniError`
 */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof Error) {
    return new CniError(CniErrorCode.Internal, err.message, { details: err.name, cause: err });
  }
  return new CniError(CniErrorCode.Internal, String(err));
}
