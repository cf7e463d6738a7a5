/**
 * Why a delegated IPAM call failed: `invalid-type` (`ipam.type` is not a file name), `not-found`
 * (in no `CNI_PATH` directory), `cannot-run` (found but not started), `timed-out` (killed after
 * the timeout), `bad-output` (no error object, or invalid JSON), `reported` (the delegate printed
 * a CNI error object). The plugin layer gives each its CNI code (`ipamErrorToCni` in
 * `lib/plugin/to_cni_error.ts`).
 */
export type IpamFailure =
  | "invalid-type"
  | "not-found"
  | "cannot-run"
  | "timed-out"
  | "bad-output"
  | "reported";

export interface IpamErrorOptions {
  /** `ipam.type`: the delegate that failed. */
  pluginType: string;
  code?: number;
  /** Put before `msg` in the message, e.g. `IPAM plugin "host-local" ADD failed`. */
  context?: string;
  details?: string;
  cause?: unknown;
}

/** A delegated IPAM call that failed; `msg` and `details` are the delegate's own when it gave them. */
export class IpamError extends Error {
  override name = "IpamError";
  /** The delegate's own code, `null` when it gave none (or one that is not a positive integer). */
  readonly code: number | null;
  /** The delegate's own `msg` (or ours), without the context. */
  readonly msg: string;
  /** The delegate's `details`, or its bounded raw output; `""` when there is none. */
  readonly details: string;
  readonly pluginType: string;

  constructor(readonly kind: IpamFailure, msg: string, options: IpamErrorOptions) {
    super(
      options.context === undefined ? msg : `${options.context}: ${msg}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = options.code ?? null;
    this.msg = msg;
    this.details = options.details ?? "";
    this.pluginType = options.pluginType;
  }
}
