import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * keygate secrets, GitHub style: `<prefix><43 base62 chars of CSPRNG output><6-char CRC32>`.
 * 43 base62 characters carry 256 bits. The checksum lets a mistyped or truncated key be refused
 * before any store lookup, and the fixed prefix makes a leaked key easy to grep for and for
 * secret scanners to recognise.
 */
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
/** Sticky: tested from lastIndex (just after the prefix) to the end. */
const BASE62 = /[0-9A-Za-z]+$/y;

/** @default "kg_" */
export const DEFAULT_KEY_PREFIX = 'kg_';

function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    // Rejection sampling: bytes >= 248 (= 4 × 62) would bias the first characters.
    for (const b of randomBytes(length * 2)) {
      if (b < 248) out += ALPHABET[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

function checksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** A new secret. Shown to its owner once; only its hash is stored. */
export function generateSecret(prefix = DEFAULT_KEY_PREFIX): string {
  const body = randomBase62(BODY_LENGTH);
  return prefix + body + checksum(prefix + body);
}

/** The first characters of a secret that are safe to display and log (prefix + 4). */
export function displayPrefix(secret: string, prefix = DEFAULT_KEY_PREFIX): string {
  return secret.slice(0, prefix.length + 4);
}

export type FormatVerdict = 'ok' | 'foreign' | 'malformed';

/**
 * `ok`: a well-formed keygate secret. `malformed`: it claims our prefix but its length, alphabet
 * or checksum is wrong, so no store can hold it. `foreign`: another format (an imported key or a
 * secret declared in the YAML file) that only a lookup can judge.
 */
export function checkSecretFormat(secret: string, prefix = DEFAULT_KEY_PREFIX): FormatVerdict {
  if (!secret.startsWith(prefix)) return 'foreign';
  if (secret.length !== prefix.length + BODY_LENGTH + CHECKSUM_LENGTH) return 'malformed';
  // One regex scan, not an alphabet search per character: this runs on every request.
  BASE62.lastIndex = prefix.length;
  if (!BASE62.test(secret)) return 'malformed';
  const cut = secret.length - CHECKSUM_LENGTH;
  return checksum(secret.slice(0, cut)) === secret.slice(cut) ? 'ok' : 'malformed';
}
