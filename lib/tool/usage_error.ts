/**
 * A command line the tool cannot run: an unknown command or option, a missing argument, a file
 * that cannot be read. The tool prints the message and exits with status 2, not the 1 of a finding.
 */
export class UsageError extends Error {
  override name = "UsageError";
}
