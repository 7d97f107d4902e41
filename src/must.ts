/**
 * `v`, known to be set by construction (an earlier stage set it, a table covers every key…).
 * If it is not, that is a bug in keygate: throw a clear internal error instead of carrying on with
 * `undefined`.
 */
export function must<T>(v: T | null | undefined, why: string): T {
  if (v === undefined || v === null) throw new Error(`internal error: unreachable, ${why}`);
  return v;
}
