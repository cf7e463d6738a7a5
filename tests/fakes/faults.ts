/** Error thrown by an injected fault. */
export class InjectedFault extends Error {
  override name = "InjectedFault";
}

/**
 * Counts the mutating operations of the in-memory world and fails the N-th, so a test can
 * fail every step of an operation in turn.
 */
export class Faults {
  /** Mutating operations seen so far. */
  count = 0;
  /** The 1-based operation to fail, or several (to fail an undo too); 0 fails none. */
  failAt: number | readonly number[] = 0;
  /** Labels of every operation seen, in order. */
  readonly log: string[] = [];

  /**
   * Records one mutating operation and throws when it is the one to fail.
   *
   * @param op what the operation is
   */
  step(op: string): void {
    this.count++;
    this.log.push(op);
    const fail = typeof this.failAt === "number" ? [this.failAt] : this.failAt;
    if (fail.includes(this.count)) {
      throw new InjectedFault(`injected fault at step ${this.count}: ${op}`);
    }
  }
}
