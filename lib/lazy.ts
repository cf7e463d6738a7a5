/**
 * A value built on first use.
 *
 * @module
 */

/**
 * Builds a value the first time it is asked for, then returns that one. For the zod schemas of
 * the state files and results: building them all at import cost each plugin run about 5 ms
 * (their first runs through zod's code), though a command parses one or two kinds.
 *
 * @param build makes the value; called until one call returns (a build that throws is tried
 *   again at the next use)
 * @returns a function that returns the value
 */
export function lazy<T>(build: () => T): () => T {
  let built: { value: T } | null = null;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}
