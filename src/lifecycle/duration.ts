import { AdminError } from './errors.ts';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `90d`, `12h`, `30m`, `45s`, or a bare number of days (RegScale issues tokens "for N days").
 * Returns milliseconds; refuses zero, negatives and anything else with the field named.
 */
export function parseLifetime(value: string | number, field: string): number {
  const text = String(value).trim();
  const m = /^([0-9]+)([smhd]?)$/.exec(text);
  if (m === null) throw new AdminError('invalid_input', `${field}: expected a duration like 90d, 12h or a number of days`, field);
  const n = Number(m[1]);
  const ms = n * (UNITS[m[2] === '' ? 'd' : (m[2] as string)] as number);
  if (n <= 0 || !Number.isSafeInteger(ms)) throw new AdminError('invalid_input', `${field}: must be a positive duration`, field);
  return ms;
}
