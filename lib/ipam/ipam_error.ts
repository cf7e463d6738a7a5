/** Options of {@link IpamError}. */
export interface IpamErrorOptions {
  /** `ipam.type`: the delegate that failed. */
  pluginType: string;
  /** Put before `msg` in the message, e.g. `IPAM plugin "host-local" ADD failed`. */
  context?: string;
  /** The delegate's `details`, or its raw output when it printed no error object. */
  details?: string;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * A delegated IPAM call that failed. When the delegate printed a CNI error object, `code`,
 * `msg` and `details` are its own, because the spec has a plugin pass its delegate's error on;
 * otherwise `code` is ours: 7 for an `ipam.type` that is not a file name, 102
 * (`CniErrorCode.IpamError`) for a plugin that is missing, cannot run, dies, or prints no usable
 * answer, and 11 (try again later) for one that timed out. The plugin layer passes it on as a
 * `CniError` (`ipamErrorToCni` in `lib/plugin/to_cni_error.ts`).
 */
export class IpamError extends Error {
  override name = "IpamError";
  /** The delegate's code, or ours (102, or 11 on timeout) when it gave none. */
  readonly code: number;
  /** The delegate's own `msg` (or ours), without the context. */
  readonly msg: string;
  /** The delegate's `details`, or its bounded raw output; `""` when there is none. */
  readonly details: string;
  /** `ipam.type`. */
  readonly pluginType: string;

  constructor(code: number, msg: string, options: IpamErrorOptions) {
    super(
      options.context === undefined ? msg : `${options.context}: ${msg}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.msg = msg;
    this.details = options.details ?? "";
    this.pluginType = options.pluginType;
  }
}
