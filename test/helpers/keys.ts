import { createHash, randomBytes } from 'node:crypto';

/** A fresh secret and the `sha256:` value the YAML file declares for it. */
export function newKey(prefix = 'kg_test_'): { secret: string; hash: string } {
  const secret = prefix + randomBytes(24).toString('base64url').replace(/[-_]/g, 'x');
  return { secret, hash: `sha256:${createHash('sha256').update(secret).digest('hex')}` };
}
