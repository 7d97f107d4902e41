/**
 * `${VAR}` / `${VAR:-default}` are resolved on parsed scalar values, never in the text: lines
 * stay true, and whatever a variable holds ends up as one string value.
 */
import { describe, expect, it } from 'vitest';
import { bad, brief, good, MINIMAL } from './support.ts';

const withAdmin = (token: string) => [...MINIMAL, `admin: { token: "${token}" }`].join('\n');

describe('interpolation', () => {
  it('replaces a set variable, and several in one value', () => {
    const c = good(['upstreams:', '  app: { url: "http://${HOST}:${PORT:-3000}/base" }', ...MINIMAL.slice(2)].join('\n'), { HOST: 'svc.internal' });
    expect(c.upstreams.get('app')?.url.href).toBe('http://svc.internal:3000/base');
  });

  it('uses the default when the variable is unset or empty (as the shell\'s :-)', () => {
    expect(good(withAdmin('${TOKEN:-fallback}')).admin.token).toBe('fallback');
    expect(good(withAdmin('${TOKEN:-fallback}'), { TOKEN: '' }).admin.token).toBe('fallback');
    expect(good(withAdmin('${TOKEN:-fallback}'), { TOKEN: 'set' }).admin.token).toBe('set');
    expect(good(withAdmin('${TOKEN:-}')).admin.token).toBe('');
  });

  it('keeps an empty value for ${VAR} when VAR is set to ""', () => {
    expect(good(withAdmin('${TOKEN}'), { TOKEN: '' }).admin.token).toBe('');
  });

  it('reports an unset variable without a default at its line and column, with its path', () => {
    const problems = bad(withAdmin('${ADMIN_TOKEN}'));
    expect(brief(problems)).toEqual([
      '5:17 /admin/token: environment variable ADMIN_TOKEN is not set (write ${ADMIN_TOKEN:-default} to give it a default)',
    ]);
  });

  it('reports every unset variable, each where it is written', () => {
    const problems = bad([
      'upstreams:',
      '  app:',
      '    url: ${UPSTREAM}',
      'routes:',
      '  - { name: api, path: "/api/*", upstream: app, action: "${ACTION}" }',
    ].join('\n'));
    expect(problems.map((p) => [p.line, p.column, p.path])).toEqual([[3, 10, '/upstreams/app/url'], [5, 57, '/routes/0/action']]);
  });

  it('turns $${ into a literal ${ without resolving it', () => {
    expect(good(withAdmin('a$${TOKEN}b'), { TOKEN: 'no' }).admin.token).toBe('a${TOKEN}b');
  });

  it('reports a malformed reference instead of passing it through', () => {
    expect(brief(bad(withAdmin('${TOKEN-x}')))).toEqual(['5:17 /admin/token: malformed reference: write ${VAR} or ${VAR:-default}, and $${ for a literal ${']);
  });

  it('gives numbers and booleans to fields that expect them', () => {
    // Unquoted works in block style; in a flow mapping `{` would end the scalar, so quote there.
    const text = [...MINIMAL, 'server: { port: "${PORT:-8080}", caseSensitivePaths: "${TRUST:-false}" }', 'admin:', '  port: ${ADMIN_PORT}'].join('\n');
    const c = good(text, { ADMIN_PORT: '9191' });
    expect(c.server.port).toBe(8080);
    expect(c.server.caseSensitivePaths).toBe(false);
    expect(c.admin.port).toBe(9191);
    const c2 = good(text, { PORT: '8443', TRUST: 'true', ADMIN_PORT: '0' });
    expect(c2.server.port).toBe(8443);
    expect(c2.server.caseSensitivePaths).toBe(true);
  });

  it('refuses an interpolated value that is not a number where one is expected', () => {
    expect(brief(bad([...MINIMAL, 'server: { port: "${PORT}" }'].join('\n'), { PORT: '80 80' }))).toEqual([
      '5:17 /server/port: must be a whole number (got "80 80")',
    ]);
  });

  it('does not coerce values the user typed: a quoted number or a boolean port is a mistake', () => {
    expect(brief(bad([...MINIMAL, 'server: { port: "8080", caseSensitivePaths: yes }', 'admin: { port: true }'].join('\n')))).toEqual([
      '5:17 /server/port: must be a whole number (got "8080")',
      '5:45 /server/caseSensitivePaths: must be true or false (got "yes")',
      '6:16 /admin/port: must be a whole number (got true)',
    ]);
  });

  it('keeps a number-like value a string where the schema wants a string', () => {
    expect(good(withAdmin('${TOKEN}'), { TOKEN: '12345' }).admin.token).toBe('12345');
  });

  it.each([
    ['YAML structure', 'x\nserver: { port: 1 }'],
    ['a flow mapping', '{ port: 1 }'],
    ['an alias', '*anchor'],
    ['a comment', '# not a comment'],
    ['a tag', '!!int 5'],
    ['quotes', '"\'"'],
    ['another reference', '${HOME}'],
  ])('keeps an environment value with %s as one plain string', (_what, value) => {
    const c = good(withAdmin('${TOKEN}'), { TOKEN: value, HOME: 'leaked' });
    expect(c.admin.token).toBe(value);
    expect(c.server.port).toBe(8080);
  });

  it('never interpolates keys', () => {
    const problems = bad(['upstreams:', '  "${NAME}": { url: "http://127.0.0.1:3000" }', ...MINIMAL.slice(2)].join('\n'), { NAME: 'app' });
    expect(problems.map((p) => p.path)).toContain('/upstreams/${NAME}');
  });
});
