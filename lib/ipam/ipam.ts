/** The CNI commands that can be delegated to an IPAM plugin. */
export type IpamCommand = "ADD" | "DEL" | "CHECK" | "STATUS" | "GC";

/**
 * One delegated call: the same CNI environment the plugin got, with its own command. `env` is the
 * request's CNI_* variables, set on top of the environment the delegate inherits from this process
 * (CNI_COMMAND from `command`); `stdin` the full network config, passed on unchanged.
 */
export interface IpamRequest {
  command: IpamCommand;
  /** `ipam.type`: the plugin's file name, looked up in `CNI_PATH`. */
  type: string;
  env: Record<string, string>;
  stdin: Uint8Array;
}

/** Runs IPAM plugins. The only privilege it has is starting processes. */
export interface Ipam {
  /**
   * Runs the plugin and returns its parsed stdout (ADD's result; `null` when it printed nothing).
   * Throws `IpamError`, with the delegate's own `{code, msg, details}` when it printed them.
   */
  exec(req: IpamRequest): Promise<unknown>;
}
