/**
 * A rate as written in the config (`100/s`, `5000/h`, also `/m` and `/d`): a count per period.
 * Parsed once at config build time; the limiter only ever sees tokens per millisecond.
 */
export interface Rate {
  /** Requests allowed per period. */
  count: number;
  /** The period in ms (1 000, 60 000, 3 600 000 or 86 400 000). */
  periodMs: number;
  /** As written, for headers and messages. */
  text: string;
}

const PERIODS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `100/s` → { count: 100, periodMs: 1000 }; null when not a rate. */
export function parseRate(text: string): Rate | null {
  const m = /^([1-9][0-9]{0,9})\/(s|m|h|d)$/.exec(text);
  if (m === null) return null;
  return { count: Number(m[1]), periodMs: PERIODS[m[2] as string] as number, text };
}

/** Tokens per ms, for comparing rates written over different periods. */
export function perMs(r: Rate): number {
  return r.count / r.periodMs;
}
