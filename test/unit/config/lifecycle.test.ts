/** `keys.maxLifetime` / `defaultLifetime` / `requireExpiry` / `expiryCheckInterval` and `webhooks[]` (issue 14). */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bad, good, MINIMAL } from './support.ts';

const D = 86_400_000;
const base = MINIMAL.join('\n');

describe('keys lifetime policy', () => {
  it('parses lifetimes longer than a timer could wait (they are compared with dates)', () => {
    const c = good(`${base}\nkeys: { maxLifetime: 365d, defaultLifetime: 90d, requireExpiry: true, expiryCheckInterval: 30s }`);
    expect(c.keys).toMatchObject({ maxLifetimeMs: 365 * D, defaultLifetimeMs: 90 * D, requireExpiry: true, expiryCheckIntervalMs: 30_000 });
  });

  it('refuses a default longer than the maximum, and a check interval too short to be sensible', () => {
    const problems = bad(`${base}\nkeys: { maxLifetime: 30d, defaultLifetime: 31d, expiryCheckInterval: 10ms }`);
    expect(problems.map((p) => [p.path, p.message])).toEqual(expect.arrayContaining([
      ['/keys/defaultLifetime', expect.stringContaining('longer than keys.maxLifetime (30d)')],
      ['/keys/expiryCheckInterval', expect.stringContaining('at least 100ms')],
    ]));
  });

  it('refuses a lifetime that is not a duration', () => {
    expect(bad(`${base}\nkeys: { maxLifetime: forever }`).map((p) => p.path)).toContain('/keys/maxLifetime');
  });
});

describe('webhooks', () => {
  it('defaults every field but url and secret, naming the receiver after its host and a digest of its path (a capability URL path is a secret)', () => {
    const c = good(`${base}\nwebhooks:\n  - { url: "https://hooks.example.com/k?token=x", secret: "\${S}" }`, { S: 'a-secret-of-sixteen+' });
    expect(c.webhooks).toHaveLength(1);
    const w = c.webhooks[0]!;
    expect(w).toMatchObject({ name: `hooks.example.com-${createHash('sha256').update('/k').digest('hex').slice(0, 8)}`, secret: 'a-secret-of-sixteen+', timeoutMs: 10_000, maxAttempts: 12, backoffMs: 1_000, maxBackoffMs: 3_600_000 });
    expect([...w.events]).toEqual(['key.created', 'key.expiring', 'key.expired', 'key.rotated', 'key.revoked', 'principal.disabled', 'limit.exceeded']);
  });

  it('refuses unknown events, short secrets, duplicate names and unknown fields, all at once', () => {
    const problems = bad(`${base}
webhooks:
  - { name: a, url: "https://a.example/", secret: "0123456789abcdef", events: [key.deleted] }
  - { name: a, url: "https://b.example/", secret: "short" }
  - { url: "ftp://c.example/", secret: "0123456789abcdef", retries: 3 }`);
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['/webhooks/0/events/0', '/webhooks/1/secret', '/webhooks/1/name', '/webhooks/2/url']));
    expect(problems.some((p) => p.message.includes('retries'))).toBe(true);
  });
});
