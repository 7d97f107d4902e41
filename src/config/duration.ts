const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * The longest delay Node.js timers honour (2^31 − 1 ms, about 24.8 days); a longer one fires
 * after 1 ms instead, so a "one month" timeout would act as no time at all.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** `500ms`, `30s`, `5m`, `1h`, `90d` → milliseconds; null for anything else. */
export function parseDuration(text: string): number | null {
  const m = /^([0-9]+)(ms|s|m|h|d)$/.exec(text);
  if (m === null) return null;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** Like {@link parseDuration}, for text the schema has already checked; throws on anything else. */
export function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === null) throw new Error(`not a duration: ${text}`);
  return ms;
}
