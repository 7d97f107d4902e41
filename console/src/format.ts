import type { Key, Principal } from './api.ts';

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A time for a table cell; "—" when absent. The full ISO time goes in the `title`. */
export function when(iso: string | undefined | null): string {
  if (iso === undefined || iso === null || iso === '') return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateFmt.format(d);
}

export function kindLabel(p: Pick<Principal, 'kind'>): string {
  return p.kind === 'service' ? 'Service (API-only)' : 'User';
}

export function keyTypeLabel(k: Pick<Key, 'type'>): string {
  return k.type === 'key_pair' ? 'Key pair' : 'Key';
}

/** Comma- or whitespace-separated list from a text field; empty items dropped. */
export function listOf(text: string): string[] {
  return text.split(/[\s,]+/).filter((s) => s !== '');
}

/**
 * Rate limit and quota of a key, when the limits issue's fields are present: rendered as text
 * whatever their shape (a number, `{ requests, per }`, …), so a newer server still shows something.
 */
export function limitText(value: unknown): string {
  if (value === undefined || value === null) return '—';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(limitText).join('; ');
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}: ${limitText(v)}`).join(', ');
  }
  return String(value);
}

export function hasLimits(keys: readonly Key[]): boolean {
  return keys.some((k) => k.limit !== undefined || k.quota !== undefined || (k.quotaLeft !== undefined && k.quotaLeft !== null));
}

/** "120 left, resets Dec 5, 2026" from a listing's `quotaLeft`. */
export function quotaLeftText(q: Key['quotaLeft']): string {
  if (q === undefined || q === null) return '—';
  return q.resetsAt === null ? `${q.remaining} left` : `${q.remaining} left, resets ${when(q.resetsAt)}`;
}

/**
 * How far off a future time is, in whole days ("in 30 days"), or hours or minutes under a day: what an
 * expiry chosen "in days" reads as. Empty for a time already past.
 */
export function fromNow(iso: string | undefined, now = Date.now()): string {
  if (iso === undefined) return '';
  const ms = Date.parse(iso) - now;
  if (Number.isNaN(ms) || ms <= 0) return '';
  const days = Math.round(ms / 86_400_000);
  if (days >= 1) return days === 1 ? 'in 1 day' : `in ${days} days`;
  const hours = Math.round(ms / 3_600_000);
  if (hours >= 1) return hours === 1 ? 'in 1 hour' : `in ${hours} hours`;
  const minutes = Math.max(1, Math.round(ms / 60_000));
  return minutes === 1 ? 'in 1 minute' : `in ${minutes} minutes`;
}

/** A key's expiry for a page: the time, and how far off it is. */
export function expiryText(iso: string | undefined, now = Date.now()): string {
  if (iso === undefined) return 'Never';
  const off = fromNow(iso, now);
  return off === '' ? when(iso) : `${when(iso)} (${off})`;
}
