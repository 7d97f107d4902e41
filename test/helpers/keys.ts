import { createHash, randomBytes } from 'node:crypto';

/** A fresh secret and the `sha256:` value the YAML file declares for it (not in keygate's kg_ format: declared keys may be anything). */
export function newKey(prefix = 'test_'): { secret: string; hash: string } {
  const secret = prefix + randomBytes(24).toString('base64url').replace(/[-_]/g, 'x');
  return { secret, hash: `sha256:${createHash('sha256').update(secret).digest('hex')}` };
}
