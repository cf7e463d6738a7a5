import { parseCniArgs } from "./cni_args.ts";
import { CniError, CniErrorCode } from "./errors.ts";
import { quote } from "./quote.ts";

export const COMMANDS = ["ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION"] as const;
export type CniCommand = typeof COMMANDS[number];

/** The CNI_* environment of one invocation, validated. */
export interface CmdArgs {
  command: CniCommand;
  /** `CNI_CONTAINERID`; empty for STATUS and GC. */
  containerId: string;
  /** `CNI_NETNS`; may be empty for DEL. */
  netns: string;
  /** `CNI_IFNAME`; empty for STATUS and GC. */
  ifname: string;
  /** `CNI_ARGS`, parsed. */
  args: Record<string, string>;
  /** `CNI_ARGS` as given, to pass on to IPAM. */
  argsRaw: string;
  /** `CNI_PATH` as given. */
  path: string;
  /** `CNI_NETNS_OVERRIDE` set to `1`/`true`: skip the "netns is the plugin's own" check. */
  netnsOverride: boolean;
}

/** Which variables each command needs, in the order libcni reports them. */
const REQUIRED: Record<Exclude<CniCommand, "VERSION">, readonly string[]> = {
  ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  DEL: ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"],
  STATUS: ["CNI_PATH"],
  GC: ["CNI_PATH"],
};

/** Every variable {@link parseCmdArgs} reads. */
const VARIABLES = [
  "CNI_COMMAND",
  "CNI_CONTAINERID",
  "CNI_NETNS",
  "CNI_IFNAME",
  "CNI_ARGS",
  "CNI_PATH",
  "CNI_NETNS_OVERRIDE",
] as const;

/** The container ID pattern of the CNI specification. */
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;
/**
 * Longest container ID accepted. Runtimes use 64 hex digits; the ID becomes part of a cache file
 * name, and a file name may not exceed 255 bytes.
 */
const MAX_CONTAINER_ID = 200;

/**
 * Validates `CNI_IFNAME` as the kernel and libcni do, and also refuses control characters.
 *
 * @throws {CniError} code 4 naming the variable, the value and the rule
 */
export function validateIfname(name: string): void {
  const fail = (why: string, details = ""): never => {
    throw new CniError(
      CniErrorCode.InvalidEnvironment,
      `invalid CNI_IFNAME ${quote(name)}: ${why}`,
      {
        details,
      },
    );
  };
  if (name === "") fail("interface name is empty");
  // IFNAMSIZ is 16 bytes including the NUL, so 15 bytes of UTF-8 at most.
  const bytes = new TextEncoder().encode(name).length;
  if (bytes > 15) {
    fail(
      "interface name is too long",
      `interface name should be less than 16 characters (got ${bytes} bytes)`,
    );
  }
  if (name === "." || name === "..") fail("interface name is . or ..");
  if (/[\/:\s]/.test(name)) fail("interface name contains / or : or whitespace characters");
  // The kernel allows these, but the name becomes part of a cache file name and of log lines:
  // an escape sequence there would reach an operator's terminal.
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) fail("interface name contains control characters");
}

/**
 * Reads and validates the CNI_* environment for one command, as libcni's skel does: unknown
 * command first, then every missing variable reported at once, then the values.
 *
 * @throws {CniError} code 4 (environment, including a NUL byte in any variable), or code 2 for
 *   an unknown `CNI_ARGS` key
 */
export function parseCmdArgs(getenv: (name: string) => string | undefined): CmdArgs {
  const command = getenv("CNI_COMMAND") ?? "";
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new CniError(CniErrorCode.InvalidEnvironment, `unknown CNI_COMMAND: ${quote(command)}`, {
      details: `CNI_COMMAND must be one of ${COMMANDS.join(", ")}`,
    });
  }
  const cmd = command as CniCommand;
  const value = (name: string) => getenv(name) ?? "";
  if (cmd !== "VERSION") {
    const missing = REQUIRED[cmd].filter((name) => value(name) === "");
    if (missing.length > 0) {
      throw new CniError(
        CniErrorCode.InvalidEnvironment,
        `required env variables [${missing.join(",")}] missing`,
      );
    }
  }
  // A real environment cannot carry a NUL byte, so one here was forged by the caller; and a NUL
  // would cut a path or a netlink name where C code reads it (libc open(), IFLA_IFNAME).
  for (const name of VARIABLES) {
    const v = value(name);
    if (v.includes("\0")) {
      throw new CniError(
        CniErrorCode.InvalidEnvironment,
        `invalid ${name} ${quote(v)}: contains a NUL byte`,
      );
    }
  }
  const containerId = value("CNI_CONTAINERID");
  if (containerId !== "" && !CONTAINER_ID.test(containerId)) {
    throw new CniError(
      CniErrorCode.InvalidEnvironment,
      `invalid CNI_CONTAINERID ${quote(containerId)}: invalid characters in containerID`,
      { details: `must match ${CONTAINER_ID.source}` },
    );
  }
  if (containerId.length > MAX_CONTAINER_ID) {
    throw new CniError(
      CniErrorCode.InvalidEnvironment,
      `invalid CNI_CONTAINERID ${quote(containerId)}: longer than ${MAX_CONTAINER_ID} characters`,
    );
  }
  const ifname = value("CNI_IFNAME");
  if (cmd !== "VERSION" && REQUIRED[cmd].includes("CNI_IFNAME")) validateIfname(ifname);
  const argsRaw = value("CNI_ARGS");
  return {
    command: cmd,
    containerId,
    netns: value("CNI_NETNS"),
    ifname,
    args: parseCniArgs(argsRaw),
    argsRaw,
    path: value("CNI_PATH"),
    netnsOverride: ["1", "true"].includes(value("CNI_NETNS_OVERRIDE").toLowerCase()),
  };
}
