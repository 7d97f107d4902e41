import { HOP_BY_HOP } from './hop-by-hop.ts';

/**
 * Upstream response headers for the client, from undici's raw list (duplicates and casing kept,
 * so several Set-Cookie values survive), minus hop-by-hop and Connection-named headers.
 */
export function clientHeaders(raw: readonly (Buffer | string)[], requestId: string): string[] {
  const out: string[] = [];
  let named: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = String(raw[i]);
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      for (const t of String(raw[i + 1]).split(',')) (named ??= new Set()).add(t.trim().toLowerCase());
    }
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = String(raw[i]);
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || (named !== null && named.has(lower)) || lower === 'x-request-id') continue;
    // latin1 keeps header bytes as they were sent (undici hands us Buffers).
    const v = raw[i + 1];
    out.push(name, typeof v === 'string' ? v : (v as Buffer).toString('latin1'));
  }
  out.push('x-request-id', requestId);
  return out;
}
