/**
 * CNI error codes, as the CNI specification 1.1 defines them, plus the two that libcni itself
 * uses (8 and 999) and the plugin-specific range starting at 100 (docs/errors.md lists them).
 */
export const CniErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetns: 8,
  TryAgainLater: 11,
  /** STATUS: the plugin cannot serve ADD now. */
  PluginNotAvailable: 50,
  /** STATUS: the plugin cannot serve ADD and existing containers may be impaired. */
  PluginNotAvailableContainersImpaired: 51,
  DeviceError: 100,
  KernelError: 101,
  /** The delegated IPAM plugin failed in a way that carried no code. */
  IpamError: 102,
  /** The state directory (cache, allocation records, locks) failed. */
  StateError: 103,
  CheckFailed: 104,
  Internal: 999,
} as const;

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
 */
export class CniError extends Error {
  override name = "CniError";
  /** Extra context for the operator; omitted from the JSON when empty. */
  readonly details: string;

  /** @param code a {@link CniErrorCode} value or a plugin-specific code ≥ 100 */
  constructor(
    readonly code: number,
    msg: string,
    options: { details?: string; cause?: unknown } = {},
  ) {
    super(msg, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details ?? "";
  }

  /** The spec's error object, in `cniVersion` (omitted when empty). */
  toJSON(cniVersion = ""): CniErrorJson {
    return {
      ...(cniVersion === "" ? {} : { cniVersion }),
      code: this.code,
      msg: this.message,
      ...(this.details === "" ? {} : { details: this.details }),
    };
  }
}

/**
 * Turns anything thrown into a `CniError`: a `CniError` passes through, anything else becomes
 * code 999 with the error's own message, so the runtime never sees a stack trace.
 */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof Error) {
    return new CniError(CniErrorCode.Internal, err.message, { details: err.name, cause: err });
  }
  return new CniError(CniErrorCode.Internal, String(err));
}
