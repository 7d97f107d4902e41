/**
 * Does a value the client chose (its X-Request-Id) look like a credential? Such a value would be
 * written to every log line and audit event of the request and echoed back in the response,
 * so a key pasted into the wrong header would end up where keys must never be (issue 10 #10).
 * Recognised: keygate's own key format, whole or cut short or embedded (the configured prefix
 * and 8+ base62 characters); a JWT (keygate's short-lived tokens and most bearer tokens); the
 * base64 `user:key` pair of service keys; and the operator's `server.headers.credentialPatterns`.
 */
const keyShapes = new Map<string, RegExp>();

function keyShape(prefix: string): RegExp {
  let re = keyShapes.get(prefix);
  if (re === undefined) {
    re = new RegExp(`${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[0-9A-Za-z]{8,}`);
    keyShapes.set(prefix, re);
  }
  return re;
}

/** Three base64url parts, the first a JSON object: `{"` encodes as `eyJ`. */
const JWT = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
/** Long enough to hold `u:` plus a key; unpadded base64 that the request-id alphabet admits. */
const BASE64 = /^[A-Za-z0-9]{24,}$/;

export function looksLikeCredential(value: string, prefix: string, patterns: readonly RegExp[]): boolean {
  if (prefix !== '' && value.includes(prefix) && keyShape(prefix).test(value)) return true;
  if (JWT.test(value)) return true;
  if (prefix !== '' && BASE64.test(value) && keyShape(prefix).test(Buffer.from(value, 'base64').toString('latin1'))) return true;
  for (const p of patterns) {
    p.lastIndex = 0; // a pattern written with /g would otherwise remember the last match
    if (p.test(value)) return true;
  }
  return false;
}
