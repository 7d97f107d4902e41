/**
 * For events that could fire on every request (`limit.exceeded`): at most `perWindow` per key
 * (a limit name, say) per `windowMs`, counted in process. A flood of refusals becomes a few
 * events a second per limit, never one per request; each replica samples on its own.
 */
export function createSampler(opts: { perWindow: number; windowMs: number; maxKeys?: number; now?: () => number }) {
  const now = opts.now ?? Date.now;
  const maxKeys = opts.maxKeys ?? 10_000;
  let windowStart = 0;
  let counts = new Map<string, number>();
  return {
    /** True when this occurrence should be emitted; a Map lookup, safe on the request path. */
    take(key: string): boolean {
      const t = now();
      if (t - windowStart >= opts.windowMs) {
        windowStart = t;
        counts = new Map();
      }
      const c = counts.get(key) ?? 0;
      if (c >= opts.perWindow || (c === 0 && counts.size >= maxKeys)) return false;
      counts.set(key, c + 1);
      return true;
    },
  };
}
