import { HOP_BY_HOP } from './hop-by-hop.ts';
import { setsOwnCookie } from './own-cookies.ts';

/**
 * Upstream response headers for the client, from undici's raw list (duplicates and casing kept,
 * so several Set-Cookie values survive), minus hop-by-hop and Connection-named headers and any
 * Set-Cookie of keygate's own cookies (own-cookies.ts).
 */
export function clientHeaders(raw: readonly (Buffer | string)[], requestId: string): string[] {
  // One conversion per header; latin1 keeps header bytes as they were sent (undici hands us Buffers).
  const out: string[] = [];
  let named: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as Buffer | string;
    const v = raw[i + 1] as Buffer | string;
    const name = typeof n === 'string' ? n : n.toString('latin1');
    const value = typeof v === 'string' ? v : v.toString('latin1');
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      for (const t of value.split(',')) (named ??= new Set()).add(t.trim().toLowerCase());
    }
    out.push(name, value);
  }
  // Second pass over the strings only: a Connection header may come after the ones it names.
  let w = 0;
  for (let i = 0; i < out.length; i += 2) {
    const lower = (out[i] as string).toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower) || lower === 'x-request-id') continue;
    if (lower === 'set-cookie' && setsOwnCookie(out[i + 1] as string)) continue;
    out[w++] = out[i] as string;
    out[w++] = out[i + 1] as string;
  }
  out.length = w;
  out.push('x-request-id', requestId);
  return out;
}
