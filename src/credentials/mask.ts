/**
 * Text that is logged or audited but comes from the request (the path) may still hold a key:
 * `GET /api/kg_…` or an encoded `%3FapiKey=kg_…` is refused with 401, yet its path is recorded.
 * Anything shaped like a keygate secret — the configured prefix and 20 or more base62
 * characters — is replaced. Keys of other formats (imported or declared ones) cannot be
 * recognised this way; the query string, where `?apiKey=` lives, is never recorded at all.
 */
const patterns = new Map<string, RegExp>();

export function maskKeys(text: string, prefix: string): string {
  if (prefix === '' || !text.includes(prefix)) return text; // the common case: one scan, no regex
  let re = patterns.get(prefix);
  if (re === undefined) {
    re = new RegExp(`${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[0-9A-Za-z]{20,}`, 'g');
    patterns.set(prefix, re);
  }
  return text.replace(re, `${prefix}[redacted]`);
}
