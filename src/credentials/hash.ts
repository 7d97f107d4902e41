import { hash } from 'node:crypto';

/** Lower-case hex SHA-256 of a secret: the only form in which keygate keeps or compares it. */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}
