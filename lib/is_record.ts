/** Whether a value decoded from JSON is an object: not `null`, not an array. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The value at `path` in a value decoded from JSON (through objects and arrays), or `undefined`. */
export function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (v, k) => isRecord(v) || Array.isArray(v) ? (v as Record<PropertyKey, unknown>)[k] : undefined,
    value,
  );
}
