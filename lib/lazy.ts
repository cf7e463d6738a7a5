/**
 * Builds a value the first time it is asked for, then returns that one; a build that throws is
 * tried again at the next use. For the zod schemas of the state files and results: building them
 * all at import cost each plugin run about 5 ms (their first runs through zod's code), though a
 * command parses one or two kinds.
 */
export function lazy<T>(build: () => T): () => T {
  let built: { value: T } | null = null;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}
