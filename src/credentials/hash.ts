import { createHmac, hash } from 'node:crypto';

export type Hasher = (secret: string) => string;

/** Lower-case hex SHA-256 of a secret: the only form in which keygate keeps or compares it. */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/**
 * The hash the store is keyed by: SHA-256, or HMAC-SHA256 with a server-side pepper so a stolen
 * store dump cannot be checked against guesses without the pepper as well.
 */
export function createHasher(pepper: string): Hasher {
  if (pepper === '') return hashSecret;
  return (secret) => createHmac('sha256', pepper).update(secret).digest('hex');
}

/** How a hash is written in the YAML file, so a declared hash says which function made it. */
export function hashLabel(pepper: string): 'sha256' | 'hmac-sha256' {
  return pepper === '' ? 'sha256' : 'hmac-sha256';
}
