/**
 * Error thrown by an injected fault. Its `reason` names the step without the fake's own label,
 * as a real lower-layer error's reason leaves out what was attempted.
 */
export class InjectedFault extends Error {
  override name = "InjectedFault";
  /** `injected fault at step N`. */
  readonly reason: string;

  /**
   * @param step the 1-based number of the failed operation
   * @param op the fake's label of the operation
   */
  constructor(step: number, op: string) {
    super(`injected fault at step ${step}: ${op}`);
    this.reason = `injected fault at step ${step}`;
  }
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
      throw new InjectedFault(this.count, op);
    }
  }
}
