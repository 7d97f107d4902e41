import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/load.ts';
import { formatProblems } from '../../../src/config/format.ts';

const DEPLOY = [
  'server: { port: "${PORT}" }',
  'admin: { token: "${ADMIN_TOKEN}" }',
  'store: { redis: "${REDIS_URL}" }',
  'keys: { pepper: "${KEY_PEPPER}" }',
  'upstreams:',
  '  app: { url: "${UPSTREAM_URL}", timeout: 30s }',
  '  web: { url: "http://${WEB_HOST}:8081" }',
  'roles: { viewer: { actions: [app:view] } }',
  'routes:',
  '  - { name: app, path: "/api/*", upstream: app, action: app:view }',
  '  - { name: web, path: "/web/*", upstream: web, action: app:view }',
  '',
].join('\n');

describe('config placeholders (check-config --placeholders)', () => {
  it('without them, each unset variable is a problem at its line', () => {
    const r = loadConfigText(DEPLOY, 'deploy.yaml', {});
    expect(r.ok).toBe(false);
    const text = r.ok ? '' : formatProblems(r.problems);
    for (const [name, line] of [['PORT', 1], ['ADMIN_TOKEN', 2], ['REDIS_URL', 3], ['UPSTREAM_URL', 6], ['WEB_HOST', 7]] as const) {
      expect(text).toMatch(new RegExp(`deploy\\.yaml:${line}:\\d+: .*environment variable ${name} is not set`));
    }
  });

  it('with them, the file loads and every unset variable is listed with its field and line', () => {
    const r = loadConfigText(DEPLOY, 'deploy.yaml', {}, { placeholders: true });
    expect(r.ok ? '' : formatProblems(r.problems)).toBe('');
    expect(r.unset?.map((u) => [u.name, u.path, u.line])).toEqual([
      ['PORT', '/server/port', 1], ['ADMIN_TOKEN', '/admin/token', 2], ['REDIS_URL', '/store/redis', 3],
      ['KEY_PEPPER', '/keys/pepper', 4], ['UPSTREAM_URL', '/upstreams/app/url', 6], ['WEB_HOST', '/upstreams/web/url', 7],
    ]);
    if (!r.ok) return;
    // Stand-ins of the type each field needs: a number for the port, URLs where URLs go.
    expect(r.config.server.port).toBe(8080);
    expect(r.config.upstreams.get('app')?.url.protocol).toBe('http:');
    expect(r.config.upstreams.get('web')?.url.host).toBe('placeholder-web-host:8081');
    expect(r.config.store.redis).toMatch(/^redis:\/\//);
  });

  it('set variables and defaults are used as always, and never listed', () => {
    const r = loadConfigText(DEPLOY.replace('${PORT}', '${PORT:-9000}'), 'deploy.yaml', { ADMIN_TOKEN: 'a-real-token-from-the-environment-0123456789' }, { placeholders: true });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.server.port).toBe(9000);
    expect(r.config.admin.token).toBe('a-real-token-from-the-environment-0123456789');
    expect(r.unset?.map((u) => u.name)).not.toContain('PORT');
    expect(r.unset?.map((u) => u.name)).not.toContain('ADMIN_TOKEN');
  });

  it('do not hide the file\'s other problems', () => {
    const r = loadConfigText(DEPLOY.replace('timeout: 30s', 'timeout: soon'), 'deploy.yaml', {}, { placeholders: true });
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.problems.map((p) => p.path)).toEqual(['/upstreams/app/timeout']);
  });

  it('a mistyped top-level key gets a suggestion that catches the transposition', () => {
    const r = loadConfigText(DEPLOY.replace('routes:', 'rotues:'), 'deploy.yaml', {}, { placeholders: true });
    expect(r.ok ? '' : formatProblems(r.problems)).toContain('unknown field "rotues" (did you mean "routes"?)');
  });
});
