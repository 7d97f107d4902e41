/** `limits:`, `limit:` and `quota:` in the config file (issue 14): typed, defaulted, and every mistake reported at its line. */
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/load.ts';

const base = (extra: string) => `upstreams:
  app: { url: "http://127.0.0.1:3000" }
${extra}
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
`;

function problems(yaml: string): string[] {
  const r = loadConfigText(yaml, 'k.yaml', {});
  return r.ok ? [] : r.problems.map((p) => `${p.line}:${p.path}: ${p.message}`);
}

describe('limits in the config', () => {
  it('parses rates, defaults burst to the count and per to principal, and attaches policies', () => {
    const r = loadConfigText(base(`limits:
  standard: { rate: 100/s, burst: 20, per: key }
  hourly: { rate: 5000/h }
roles:
  viewer: { actions: [application:view], limit: standard }
orgs:
  acme: { limit: hourly, quota: { requests: 1000 } }`), 'k.yaml', {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.limits.get('standard')).toEqual({ name: 'standard', rate: { count: 100, periodMs: 1000, text: '100/s' }, burst: 20, per: 'key' });
    expect(r.config.limits.get('hourly')).toMatchObject({ burst: 5000, per: 'principal', rate: { periodMs: 3_600_000 } });
    expect(r.config.roles.get('viewer')?.limit).toBe('standard');
    expect(r.config.orgs.get('acme')).toMatchObject({ limit: 'hourly', quota: { requests: 1000, period: 'month' }, keys: [] });
    expect(r.config.limiter).toMatchObject({ leaseSize: 0.1, fallbackReplicas: 2, refusedCredentials: { rate: { count: 10, periodMs: 1000 }, burst: 50 } });
  });

  it.each([
    ['a malformed rate', 'limits: { x: { rate: 100/week } }', /^5:\/limits\/x\/rate: /],
    ['a rate of zero', 'limits: { x: { rate: 0/s } }', /^5:\/limits\/x\/rate: /],
    ['a burst of zero', 'limits: { x: { rate: 1/s, burst: 0 } }', /^5:\/limits\/x\/burst: at least 1/],
    ['an unknown per', 'limits: { x: { rate: 1/s, per: team } }', /^5:\/limits\/x\/per: /],
    ['a role naming no policy', 'roles: { viewer: { actions: [a:b], limit: gold } }', /^5:\/roles\/viewer\/limit: limit "gold" is not defined under limits \(defined: none\)$/],
    ['an unknown quota period', 'orgs: { acme: { quota: { requests: 5, period: week } } }', /^5:\/orgs\/acme\/quota\/period: /],
  ])('reports %s at its line', (_what, extra, expected) => {
    // Line 5: `upstreams` takes lines 1-2, then two empty lines, then the fragment.
    const found = problems(base(`\n\n${extra}`));
    expect(found.some((p) => expected.test(p)), found.join('\n')).toBe(true);
  });

  it('a limit on a public route is refused (no one to count), as is a route naming no policy', () => {
    const yaml = `upstreams:
  app: { url: "http://127.0.0.1:3000" }
limits: { std: { rate: 1/s } }
routes:
  - { name: open, path: /open, upstream: app, public: true, limit: std }
  - { name: app, path: "/api/*", upstream: app, action: a:b, limit: nope }
`;
    expect(problems(yaml)).toEqual([
      '5:/routes/0/limit: a public route has no key, principal or org to count; limits apply to authenticated routes',
      '6:/routes/1/limit: limit "nope" is not defined under limits (defined: std)',
    ]);
  });

  it('principals and keys carry limit and quota', () => {
    const r = loadConfigText(base(`limits: { std: { rate: 1/s } }
principals:
  - name: bot
    kind: service
    limit: std
    quota: { requests: 10, period: day }
    keys: [{ id: bot-1, hash: "sha256:${'0'.repeat(64)}", limit: std, quota: { requests: 3, period: none } }]`), 'k.yaml', {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.principals[0]).toMatchObject({ limit: 'std', quota: { requests: 10, period: 'day' }, keys: [{ id: 'bot-1', limit: 'std', quota: { requests: 3, period: 'none' } }] });
  });
});
