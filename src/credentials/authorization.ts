import type { CredentialsConfig } from '../config/types.ts';

/** RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
export const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** A compact JWS: three base64url parts, the header starting with `{"` (eyJ). */
const JWT = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export type AuthorizationValue =
  | { kind: 'bearer'; token: string }
  | { kind: 'jwt'; token: string }
  | { kind: 'apikey'; key: string }
  | { kind: 'service_key'; user: string; key: string }
  | { kind: 'malformed'; scheme: 'bearer' | 'apikey' | 'basic' }
  | { kind: 'other' };

/** `base64(user:key)`, strictly: canonical base64, UTF-8, a non-empty user and key. */
function serviceKey(b64: string): { user: string; key: string } | null {
  if (b64.length % 4 !== 0 || !BASE64.test(b64)) return null;
  const raw = Buffer.from(b64, 'base64');
  if (raw.toString('base64') !== b64) return null;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return null;
  }
  const i = text.indexOf(':');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters in Basic credentials are refused on purpose
  if (i <= 0 || i === text.length - 1 || /[\u0000-\u001f\u007f]/.test(text)) return null;
  return { user: text.slice(0, i), key: text.slice(i + 1) };
}

/**
 * Classifies the one Authorization header. Scheme names are case-insensitive (RFC 9110 §11.1).
 * A value without a scheme is a Contrast service key when it decodes as `user:key`.
 */
export function parseAuthorization(value: string, creds: CredentialsConfig, tokens: boolean): AuthorizationValue {
  const trimmed = value.trim();
  // RFC 9110 §11.4 separates the scheme with SP only, but upstreams split on any whitespace
  // (Go's strings.Fields, Python's split()): `Bearer<TAB>key` is a bearer token to them, so it
  // is one here too, rather than an unknown header passed on beside another credential.
  const space = trimmed.search(/[ \t]/);
  if (space === -1) {
    if (creds.serviceKey.enabled) {
      const sk = serviceKey(trimmed);
      if (sk !== null) return { kind: 'service_key', ...sk };
    }
    return { kind: 'other' };
  }
  const scheme = trimmed.slice(0, space).toLowerCase();
  const rest = trimmed.slice(space + 1).trim();
  if (scheme === 'bearer') {
    if (rest.length === 0 || rest.length > 4096 || !B64TOKEN.test(rest)) return { kind: 'malformed', scheme: 'bearer' };
    return tokens && JWT.test(rest) ? { kind: 'jwt', token: rest } : { kind: 'bearer', token: rest };
  }
  if (creds.apiKey.enabled && scheme === creds.apiKey.scheme.toLowerCase()) {
    if (rest.length === 0 || rest.length > 4096 || !B64TOKEN.test(rest)) return { kind: 'malformed', scheme: 'apikey' };
    return { kind: 'apikey', key: rest };
  }
  if (creds.serviceKey.enabled && scheme === 'basic') {
    const sk = serviceKey(rest);
    return sk === null ? { kind: 'malformed', scheme: 'basic' } : { kind: 'service_key', ...sk };
  }
  return { kind: 'other' };
}
