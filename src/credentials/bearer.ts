import type { IncomingMessage } from 'node:http';
import type { PresentedCredential } from '../context.ts';
import { GatewayError } from '../errors.ts';
import type { Hasher } from './hash.ts';
import { checkSecretFormat } from './key-format.ts';
import { singleRawHeader } from './raw-headers.ts';

/** RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export const BEARER_CHALLENGE = 'Bearer realm="keygate"';

/** `WWW-Authenticate` for a refused bearer credential (RFC 6750 §3). */
export function bearerChallenge(error: 'invalid_token' | 'insufficient_scope', description: string): string {
  return `${BEARER_CHALLENGE}, error="${error}", error_description="${description}"`;
}

/**
 * `Authorization: Bearer <key>`. Returns null when the request has no Authorization header or
 * one of another scheme; the secret is hashed here and goes no further.
 */
export function extractBearer(req: IncomingMessage, hash: Hasher, keyPrefix: string): PresentedCredential | null {
  const value = singleRawHeader(req, 'authorization');
  if (value === undefined) return null;
  // Auth scheme names are case-insensitive (RFC 9110 §11.1).
  if (value.length < 7 || value.slice(0, 7).toLowerCase() !== 'bearer ') return null;
  const token = value.slice(7).trim();
  if (token.length === 0 || token.length > 4096 || !B64TOKEN.test(token)) {
    throw new GatewayError('invalid_key', 'Malformed bearer credential', {
      headers: { 'www-authenticate': bearerChallenge('invalid_token', 'malformed credential') },
    });
  }
  // A key in our format with a wrong checksum is a typo or a forgery: refuse it without a lookup.
  if (checkSecretFormat(token, keyPrefix) === 'malformed') {
    throw new GatewayError('invalid_key', undefined, { headers: { 'www-authenticate': bearerChallenge('invalid_token', 'invalid_key') } });
  }
  return { style: 'bearer', hash: hash(token), header: 'authorization' };
}
