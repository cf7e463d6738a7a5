import type { Rdma } from "../netlink/rdma.ts";
import type { Store } from "../state/store.ts";
import type { Sysfs } from "../sysfs/sysfs.ts";
import type { Violation } from "../config/validate_config.ts";
import type { NodeReader } from "../sysfs/node_reader.ts";
import type { Installer } from "./installer.ts";

/**
 * Everything the operator's tool touches outside its own memory. Only `cli.ts` builds the real
 * one (process streams, `Deno.readFile`, `LibcSysfs`, `LibnlRdma`, `FileStore`, …); tests pass
 * buffers, fixture trees and fakes.
 */
export interface ToolIo {
  /** Results, reports. */
  stdout(text: string): void;
  /** Usage errors, unreadable files. */
  stderr(text: string): void;
  /** Reads a whole file named on the command line. */
  readFile(path: string): Promise<Uint8Array>;
  /** The version line, e.g. `ib-sriov CNI plugin v0.1.0`. */
  version: string;
  /** Every violation in a config's or conflist's bytes: `validateConfigBytes` in production. */
  validateConfig(bytes: Uint8Array): Violation[];
  /** Readers rooted at `root` (`/`, or `--sysfs-root`). */
  sysfs(root: string): Sysfs;
  nodeReader(root: string): NodeReader;
  /** Loads libnl-3 and libnl-route-3; throws an `Error` naming the library that fails. */
  loadLibnl(): void;
  rdma(): Rdma;
  store(): Store;
  /** Proves the state directories writable; throws an `Error` naming the directory when not. */
  checkStateDir(): Promise<void>;
  /** Whether a recorded netns path still exists, to tell a stale cache entry. */
  netnsExists(path: string): boolean;
  installer(): Installer;
  /** The running process: what `install` copies. */
  program: Program;
  /** Resolves with the signal's name on the first SIGTERM or SIGINT. */
  waitForSignal(): Promise<string>;
}

/** The running process, as far as the install needs to know it (Deno's fields of those names). */
export interface Program {
  standalone: boolean;
  mainModule: string;
  /** The compiled binary, or the Deno runtime that runs the bundle. */
  execPath: string;
}
