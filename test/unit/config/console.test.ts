/**
 * `console:` (issue 15): defaults, the OIDC section with its secret from the environment, and
 * the cross-checks the schema cannot make, each reported with its path.
 */
import { describe, expect, it } from 'vitest';
import { bad, good, MINIMAL } from './support.ts';

const withConsole = (...lines: string[]) => [...MINIMAL, 'roles:', '  self-service: { actions: [keygate:admin:keys:own] }', '  ci: { actions: [x:y], serviceOnly: true }', 'console:', ...lines].join('\n');
const paths = (text: string) => bad(text).map((p) => `${p.path}: ${p.message}`);

describe('console config', () => {
  it('defaults: on, 30m idle, 12h absolute, auto Secure, no OIDC', () => {
    const c = good(MINIMAL.join('\n'));
    expect(c.console).toEqual({ enabled: true, sessionIdleTimeoutMs: 1_800_000, sessionMaxAgeMs: 43_200_000, secureCookies: 'auto', oidc: null });
  });

  it('an OIDC section, secret from the environment, metadata matching parsed', () => {
    const c = good(withConsole(
      '  sessionIdleTimeout: 10m',
      '  oidc:',
      '    issuer: https://login.example.com/',
      '    clientId: kg',
      '    clientSecret: ${OIDC_SECRET}',
      '    redirectUri: https://admin.example.com/console/oidc/callback',
      '    claim: sub',
      '    principalField: metadata.oidc_sub',
      '    createUsers: true',
      '    defaultRole: self-service',
    ), { OIDC_SECRET: 'shh-0123456789' });
    expect(c.console.sessionIdleTimeoutMs).toBe(600_000);
    expect(c.console.oidc).toEqual({
      issuer: 'https://login.example.com/', clientId: 'kg', clientSecret: 'shh-0123456789',
      redirectUri: 'https://admin.example.com/console/oidc/callback', claim: 'sub',
      principalField: { type: 'metadata', field: 'oidc_sub' }, createUsers: true, defaultRole: 'self-service', scopes: ['openid', 'email'],
    });
  });

  it('refuses what would not work, with the path of each problem', () => {
    const problems = paths(withConsole(
      '  sessionIdleTimeout: 2h',
      '  sessionMaxAge: 1h',
      '  oidc:',
      '    issuer: http://login.example.com/',
      '    clientId: kg',
      '    redirectUri: http://admin.example.com/console/oidc/callback',
      '    defaultRole: ci',
      '    scopes: [email]',
    ));
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^\/console\/sessionMaxAge: must not be shorter/),
      expect.stringMatching(/^\/console\/oidc\/issuer: must be https/),
      expect.stringMatching(/^\/console\/oidc\/redirectUri: must be https/),
      expect.stringMatching(/^\/console\/oidc\/defaultRole: role "ci" is serviceOnly/),
      expect.stringMatching(/^\/console\/oidc\/scopes: must include "openid"/),
    ]));
    expect(paths(withConsole('  oidc: { issuer: "https://i.example/", clientId: kg, redirectUri: "https://a.example/cb", defaultRole: nope }')))
      .toEqual([expect.stringMatching(/^\/console\/oidc\/defaultRole: role "nope" is not defined/)]);
    expect(paths(withConsole('  oidc: { issuer: "https://i.example/", clientId: kg }')).join('\n')).toContain('redirectUri');
    expect(paths(withConsole('  secureCookies: sometimes')).join('\n')).toContain('/console/secureCookies');
  });

  it('accepts plain http on loopback (a provider in tests or on a laptop)', () => {
    const c = good(withConsole('  oidc: { issuer: "http://127.0.0.1:8000", clientId: kg, redirectUri: "http://localhost:9090/console/oidc/callback" }'));
    expect(c.console.oidc?.issuer).toBe('http://127.0.0.1:8000');
  });
});
