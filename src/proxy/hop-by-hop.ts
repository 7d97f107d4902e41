/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) and the ones a proxy must not pass on. They describe
 * one connection, not the message, and are removed in both directions together with every
 * header that `Connection` names. `te`, `trailer` and `upgrade` are dropped as well: undici
 * manages framing and upgrades itself. `http2-settings` belongs to an h2c upgrade offer
 * (RFC 7540 §3.2.1), which keygate ignores: the request is answered over HTTP/1.1.
 */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Lower-cased header names listed in every `Connection` header of a raw header list. */
export function connectionNamed(raw: readonly string[]): Set<string> | null {
  let named: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      for (const token of (raw[i + 1] as string).split(',')) {
        const t = token.trim().toLowerCase();
        if (t.length > 0) (named ??= new Set()).add(t);
      }
    }
  }
  return named;
}
