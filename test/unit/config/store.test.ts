/**
 * `store.username`, `store.password`, `store.tls` and `store.sentinel.password`: loaded from the
 * file or from `${VAR}`, handed to the connection as ioredis targets, refused where they would
 * be ignored, and never echoed into a problem message.
 */
import { describe, expect, it } from 'vitest';
import { redisTarget } from '../../../src/audit/connection.ts';
import { bad, brief, good, MINIMAL } from './support.ts';

const withStore = (...lines: string[]) => [...MINIMAL, 'store:', ...lines].join('\n');

describe('store credentials and TLS', () => {
  it('Sentinel: node and sentinel passwords from the environment, TLS coerced from a variable', () => {
    const c = good(withStore(
      '  sentinel:',
      '    name: mymaster',
      '    nodes: [{ host: s1, port: 26379 }, { host: s2, port: 26380 }]',
      '    password: ${SENTINEL_PASSWORD}',
      '  username: keygate',
      '  password: ${REDIS_PASSWORD}',
      '  tls: ${REDIS_TLS}',
    ), { SENTINEL_PASSWORD: 's-secret', REDIS_PASSWORD: '12345', REDIS_TLS: 'true' });
    expect(c.store).toMatchObject({
      redis: '', cluster: null, username: 'keygate', password: '12345', tls: true,
      sentinel: { name: 'mymaster', nodes: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }], password: 's-secret' },
    });
    expect(redisTarget(c.store)).toEqual({
      sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }], sentinelName: 'mymaster', sentinelPassword: 's-secret',
      username: 'keygate', password: '12345', tls: true,
    });
  });

  it('Cluster: credentials apply to the nodes; absent ones default to empty / false', () => {
    const c = good(withStore('  cluster: [{ host: c1, port: 7000 }]', '  password: pw'));
    expect(c.store).toMatchObject({ cluster: [{ host: 'c1', port: 7000 }], sentinel: null, username: '', password: 'pw', tls: false });
    expect(redisTarget(c.store)).toEqual({ cluster: [{ host: 'c1', port: 7000 }], username: '', password: 'pw', tls: false });
    const s = good(withStore('  sentinel: { name: m, nodes: [{ host: s, port: 26379 }] }'));
    expect(s.store.sentinel?.password).toBe('');
  });

  it('refuses them next to a standalone URL, which carries its own', () => {
    expect(brief(bad(withStore('  redis: redis://r:6379', '  password: pw', '  tls: true')))).toEqual([
      '7:13 /store/password: password, tls: for sentinel and cluster only; a standalone store.redis URL carries its own (rediss://user:password@host:port)',
    ]);
    expect(brief(bad(withStore('  username: u')))).toEqual([
      '6:13 /store/username: username: for sentinel and cluster only; a standalone store.redis URL carries its own (rediss://user:password@host:port)',
    ]);
  });

  it('never echoes a password into a message', () => {
    const messages = bad(withStore(
      '  cluster: [{ host: c1, port: 7000 }]',
      '  password: 918273645',
      '  sentinel: { name: m, nodes: [{ host: s, port: 1 }], password: 564738291 }',
    )).map((p) => p.message).join('\n');
    expect(messages).toContain('value not shown');
    for (const secret of ['918273645', '564738291']) expect(messages).not.toContain(secret);
  });
});
