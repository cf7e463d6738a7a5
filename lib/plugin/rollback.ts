import type { Logger } from "../log.ts";

interface Undo {
  label: string;
  run: () => void | Promise<void>;
}

/**
 * The undo stack of a multi-step kernel operation: after each step succeeds, push the step
 * that reverses it; on failure, {@link unwind} runs them newest first and keeps going past
 * undo failures (logging each), so one stuck step does not strand the others.
 */
export class Rollback {
  #undos: Undo[] = [];
  #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Registers the undo of a step that just succeeded; `label` says what it does, for the log. */
  push(label: string, run: () => void | Promise<void>): void {
    this.#undos.push({ label, run });
  }

  /** Forgets every undo: the operation completed. */
  commit(): void {
    this.#undos = [];
  }

  /** Runs every undo, newest first; returns the labels of those that failed. */
  async unwind(): Promise<string[]> {
    const failed: string[] = [];
    for (const undo of this.#undos.reverse()) {
      try {
        await undo.run();
      } catch (err) {
        failed.push(undo.label);
        this.#log.error(`rollback step failed: ${undo.label}`, { error: String(err) });
      }
    }
    this.#undos = [];
    return failed;
  }
}
