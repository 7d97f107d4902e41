import { parseLifetime } from '../../lifecycle/duration.ts';
import { AdminError } from '../../lifecycle/errors.ts';
import { FORMATS } from './formats.ts';

const RFC3339 = FORMATS['date-time'];

/**
 * The expiry a key update asks for: `expiresIn` (a lifetime from now, as on create) or
 * `expiresAt` (an RFC 3339 instant, or null to clear). Undefined: the expiry is not changed.
 */
export function requestedExpiry(body: { expiresIn?: unknown; expiresAt?: unknown }, now: Date): Date | null | undefined {
  const { expiresIn, expiresAt } = body;
  if (expiresIn !== undefined && expiresAt !== undefined) throw new AdminError('invalid_input', 'expiresAt: give expiresIn or expiresAt, not both', 'expiresAt');
  if (expiresIn !== undefined) return new Date(now.getTime() + parseLifetime(expiresIn as string | number, 'expiresIn'));
  if (expiresAt === undefined || expiresAt === null) return expiresAt;
  const at = typeof expiresAt === 'string' && RFC3339.test(expiresAt) && realDay(expiresAt) ? new Date(expiresAt) : null;
  if (at === null || Number.isNaN(at.getTime())) throw new AdminError('invalid_input', 'expiresAt: an RFC 3339 date-time such as 2027-01-31T00:00:00Z, or null', 'expiresAt');
  return at;
}

/** Date.parse rolls `2030-02-30` over to March 2: the day must exist in its month. */
function realDay(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  return m >= 1 && m <= 12 && d >= 1 && new Date(Date.UTC(y, m, 0)).getUTCDate() >= d;
}
