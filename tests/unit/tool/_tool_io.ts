/**
 * A {@linkcode ToolIo} for tests: the real WASM validator, buffers for stdout and stderr, files from
 * `tests/fixtures/tool/`, the real `LibcSysfs` and `LibcNodeReader` (pointed at a fixture tree
 * by `--sysfs-root`), a real `FileStore` in a temp dir, and fakes for libnl, RDMA and the state
 * probe.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CniError } from "../../../lib/cni/errors.ts";
import { negotiateVersion } from "../../../lib/cni/versions.ts";
import { loadNetConf } from "../../../lib/config/load_net_conf.ts";
import { validateConfigBytes } from "../../../lib/config/validate_config.ts";
import type { Rdma, RdmaNetnsMode } from "../../../lib/netlink/rdma.ts";
import { FileStore } from "../../../lib/state/file_store.ts";
import { FsInstaller } from "../../../lib/tool/installer.ts";
import { LibcSysfs } from "../../../lib/sysfs/libc_sysfs.ts";
import type { Violation } from "../../../lib/config/validate_config.ts";
import { LibcNodeReader } from "../../../lib/sysfs/libc_node_reader.ts";
import type { ToolIo } from "../../../lib/tool/tool_io.ts";

/** The directory of the tool's fixtures. */
export const FIXTURES = fileURLToPath(new URL("../../fixtures/tool/", import.meta.url));

/** A fixture's path. */
export function fixture(name: string): string {
  return join(FIXTURES, name);
}

/** A YAML document with an unclosed flow mapping: not valid YAML. */
export const BROKEN_YAML =
  "kind: NetworkAttachmentDefinition\nmetadata: { name: broken\nspec:\n  config: x\n";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A validator that really checks, by the plugin's own decoding: JSON, the version, then
 * `loadNetConf` on the config or on each `ib-sriov` entry of a conflist. Rule 1 is "not JSON",
 * rule 2 "the version", rule 3 "loadNetConf refused it"; paths are the entry's.
 */
export function loadNetConfValidator(bytes: Uint8Array): Violation[] {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    json = err;
  }
  if (!isRecord(json)) {
    const message = json instanceof Error ? String(json) : "not an object";
    return [{ rule: 1, ruleName: "json", severity: "error", path: "", offset: 0, message }];
  }
  const entries: [string, Record<string, unknown>][] = Array.isArray(json["plugins"])
    ? json["plugins"].flatMap((p, i) =>
      isRecord(p) && p["type"] === "ib-sriov"
        ? [[`plugins[${i}]`, { ...p, name: json["name"], cniVersion: json["cniVersion"] }]]
        : []
    ) as [string, Record<string, unknown>][]
    : [["", json]];
  const found: Violation[] = [];
  for (const [path, conf] of entries) {
    try {
      const version = negotiateVersion(conf["cniVersion"] as string | undefined, undefined);
      loadNetConf(conf, version, "DEL");
    } catch (err) {
      if (!(err instanceof CniError)) throw err;
      found.push({
        rule: err.code === 1 ? 2 : 3,
        ruleName: "config",
        severity: "error",
        path,
        offset: 0,
        message: err.message,
      });
    }
  }
  return found;
}

/** Fake RDMA netlink: the mode given, or the error given. */
export function fakeRdma(mode: RdmaNetnsMode | Error): Rdma {
  return {
    netnsMode: () => {
      if (mode instanceof Error) throw mode;
      return mode;
    },
    devices: () => [],
    moveDevice: () => {
      throw new Error("moveDevice() must not be called by the tool");
    },
  };
}

/** A test I/O and what was written to it. */
export interface TestIo {
  io: ToolIo;
  stdout(): string;
  stderr(): string;
}

/**
 * @param overrides fields of the I/O to replace
 * @returns the I/O; files are read relative to {@link FIXTURES}
 */
export function testIo(overrides: Partial<ToolIo> = {}): TestIo {
  let out = "";
  let err = "";
  const io: ToolIo = {
    stdout: (text) => void (out += text),
    stderr: (text) => void (err += text),
    readFile: (path) => Deno.readFile(path.startsWith("/") ? path : fixture(path)),
    version: "ib-sriov CNI plugin v0.0.0-test",
    validateConfig: (bytes) => validateConfigBytes(bytes),
    sysfs: (root) => new LibcSysfs({ root }),
    nodeReader: (root) => new LibcNodeReader({ root }),
    loadLibnl: () => {},
    rdma: () => fakeRdma("exclusive"),
    store: () => new FileStore({ cacheDir: "/nonexistent/ib-sriov-tool-test" }),
    checkStateDir: () => Promise.resolve(),
    netnsExists: () => true,
    installer: () => new FsInstaller(),
    program: { standalone: false, mainModule: "file:///src/cli.ts", execPath: "/usr/bin/deno" },
    waitForSignal: () => Promise.reject(new Error("waitForSignal() must not be called")),
    ...overrides,
  };
  return { io, stdout: () => out, stderr: () => err };
}
