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
