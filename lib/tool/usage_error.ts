/**
 * A command line the tool cannot run: an unknown command or option, a missing argument, a file
 * that cannot be read. The tool prints the message and exits with status 2.
 */
export class UsageError extends Error {
  override name = "UsageError";
  /** Always `"usage"`: the exit status is 2, not the 1 of a finding. */
  readonly code = "usage";

  /**
   * @param message one line naming the argument or file
   * @param options `cause`
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
