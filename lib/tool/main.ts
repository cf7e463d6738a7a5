/**
 * `ib-sriov` for people: what the executable does when `CNI_COMMAND` is unset. Every effect
 * goes through the injected {@linkcode ToolIo}; `cli.ts` passes the real one.
 *
 * @module
 */
import { errorMessage } from "../error_message.ts";
import { runDoctor } from "./doctor.ts";
import { runDryRun } from "./dry_run.ts";
import { runInstall } from "./install.ts";
import type { ToolIo } from "./tool_io.ts";
import { UsageError } from "./usage_error.ts";
import { runValidate } from "./validate.ts";

export const USAGE = `Usage:
  ib-sriov validate [--json] FILE...
      Check CNI configs, conflists or NetworkAttachmentDefinitions (JSON or YAML, the config in
      spec.config). Prints FILE: path: message per violation; exit 1 when any, 2 when a file
      cannot be read.
  ib-sriov dry-run [--command ADD|DEL] [--sysfs-root DIR] [--ifname NAME] [--netns PATH]
                   [--device-id PCI] [--container-id ID] FILE
      ADD: resolve the config's device from sysfs and print what ADD would change on it, and
      why it would fail when that shows already (exit 1). DEL (needs --container-id): print
      what DEL would undo from that attachment's record. Changes nothing; needs no root.
      --device-id stands in for the deviceID Multus adds at run time; --sysfs-root reads a
      recorded tree instead of /sys.
  ib-sriov doctor [--sysfs-root DIR] [--rdma] [--json]
      Check the node: libnl, kernel version, RDMA netns mode (--rdma: required), SR-IOV PFs and
      their VFs, VF GUIDs, state directory, stale cache entries. Exit 1 on any failure.
  ib-sriov install [--cni-bin-dir DIR] [--host-cni-bin-dir DIR] [--ib-sriov-cni-bin-file FILE]
                   [--no-sleep]
      Install this plugin into DIR (default /host/opt/cni/bin, where the DaemonSet mounts the
      host's /opt/cni/bin) atomically; the bundle goes with its Deno runtime in DIR/ib-sriov.d,
      named by its path on the host (default /opt/cni/bin). Then wait for SIGTERM or SIGINT,
      or exit at once with --no-sleep. The container image's entrypoint; exit 1 on failure.
      Flags as the Go plugin's entrypoint takes them: -flag or --flag, -flag=value or
      -flag value, -no-sleep=false; FILE can only be this plugin's own path.
  ib-sriov --version
  ib-sriov help

With CNI_COMMAND set, ib-sriov is the CNI plugin and reads its config on stdin.
`;

type Command = (args: string[], io: ToolIo) => Promise<number>;

const COMMANDS: Readonly<Record<string, Command>> = {
  validate: runValidate,
  "dry-run": runDryRun,
  doctor: runDoctor,
  install: runInstall,
};

/** Whether `err` is `node:util` parseArgs's complaint about the command line. */
function isParseArgsError(err: unknown): err is Error {
  return err instanceof TypeError &&
    String((err as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS");
}

/**
 * Runs one tool command, from the arguments after the program name (`Deno.args`).
 *
 * @returns the exit status: 0 success, 1 a finding (violation, failed check, impossible plan),
 *   2 a usage error or an unreadable file
 * @throws whatever a command throws that is not a usage error (a bug, or a missing permission)
 */
export async function runTool(argv: string[], io: ToolIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === "--version" || name === "-v" || name === "version") {
    io.stdout(`${io.version}\n`);
    return 0;
  }
  if (name === undefined) {
    io.stderr(`${io.version}\n\n${USAGE}`);
    return 2;
  }
  if (name === "help" || name === "--help" || name === "-h") {
    io.stdout(USAGE);
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr(`ib-sriov: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(args, io);
  } catch (err) {
    if (!(err instanceof UsageError) && !isParseArgsError(err)) throw err;
    io.stderr(`ib-sriov ${name}: ${errorMessage(err)}\nRun "ib-sriov help" for usage.\n`);
    return 2;
  }
}
