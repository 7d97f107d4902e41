/**
 * Every problem in a file is reported in one run — YAML, schema and cross-field alike — each with
 * the line and column of the offending field, its path and a reason a person can act on.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, loadConfigText } from '../../../src/config/load.ts';
import { formatProblems } from '../../../src/config/format.ts';
import { bad, brief, good, MINIMAL } from './support.ts';

/** `line:column` of `needle` (its first occurrence) in the 1-based `line` of `text`. */
function at(text: string, line: number, needle: string): string {
  const column = (text.split('\n')[line - 1] ?? '').indexOf(needle) + 1;
  if (column === 0) throw new Error(`"${needle}" is not on line ${line}`);
  return `${line}:${column}`;
}

const HASH_A = `sha256:${'a'.repeat(64)}`;
const HASH_B = `sha256:${'b'.repeat(64)}`;

describe('all problems at once', () => {
  const text = [
    /*  1 */ 'server:',
    /*  2 */ '  prot: 8080',
    /*  3 */ '  headersTimeout: 10 seconds',
    /*  4 */ 'upstreams:',
    /*  5 */ '  app: { url: "http://127.0.0.1:3000" }',
    /*  6 */ 'routes:',
    /*  7 */ '  - { name: read, path: "/api/*", upstream: app, action: app:view }',
    /*  8 */ '  - { name: write, path: "/api/*", upstream: ap, action: app:edit }',
    /*  9 */ '  - { name: read, path: /other, upstream: app, public: true }',
    /* 10 */ 'log:',
    /* 11 */ '  level: info',
    /* 12 */ '  level: debug',
  ].join('\n');

  it('reports the unknown key, bad duration, undefined upstream, duplicate route name and duplicate YAML key, in file order', () => {
    expect(brief(bad(text))).toEqual([
      '2:3 /server/prot: unknown field "prot" (did you mean "port"?) (allowed: port, host, headersTimeout, requestTimeout, keepAliveTimeout, workers, drainTimeout, maxHeaderBytes, maxHeaders, caseSensitivePaths, pathSemicolons, trustedProxies, headers)',
      '3:19 /server/headersTimeout: must be a duration like 500ms, 30s, 5m, 1h or 90d (got "10 seconds")',
      `${at(text, 8, 'ap,')} /routes/1/upstream: upstream "ap" is not defined (defined: app)`,
      '9:13 /routes/2/name: route name "read" is already used at /routes/0 (line 7)',
      '12:3 /log/level: duplicate key "level" (first at line 11); YAML would silently keep only the last one',
    ]);
  });

  it('formats each as file:line:column: /path: reason', () => {
    expect(formatProblems(bad(text)).split('\n')[2]).toBe(`test.yaml:${at(text, 8, 'ap,')}: /routes/1/upstream: upstream "ap" is not defined (defined: app)`);
  });
});

describe('YAML', () => {
  it('stops at a syntax error (the tree after it is a guess) and says where', () => {
    const problems = bad([...MINIMAL, 'server: { port: 1', 'admin: { prot: 1 }'].join('\n'));
    expect(problems.map((p) => [p.line, p.path])).toEqual([[6, '']]);
    expect(problems[0]?.message).toMatch(/flow/i);
  });

  it('reports a missing file as a problem at line 0, not a throw', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keygate-config-')), 'absent.yaml');
    expect(await loadConfigFile(file, {})).toEqual({ ok: false, problems: [{ file, line: 0, column: 0, path: '', message: 'cannot read the config file: no such file' }] });
  });

  it('refuses an alias bomb as a problem instead of expanding it', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
    const problems = bad(bomb);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/alias/i);
  });

  it('requires upstreams and routes, reported at the top of an empty file', () => {
    // `upstreams` is required by the build step (a decision-only config, with `check`, may leave it out).
    expect(brief(bad(''))).toEqual(['1:1 /routes: missing required field "routes"', '1:1 /upstreams: missing required field "upstreams"']);
  });
});

describe('schema problems', () => {
  it('puts a missing field at its parent object, with the field in the path', () => {
    expect(brief(bad([...MINIMAL, '  - { name: x, path: /x, action: a:b }'].join('\n')))).toEqual(['5:5 /routes/1/upstream: missing required field "upstream" (without one, a route is decision-only: that needs a `check` section)']);
  });

  it('puts an invalid map name at the name', () => {
    expect(brief(bad([...MINIMAL, 'roles:', '  "bad role": { actions: [a:b] }'].join('\n')))).toEqual([
      '6:3 /roles/bad role: invalid name "bad role": must be a name: a letter or digit, then letters, digits, ".", "_" or "-" (64 at most)',
    ]);
  });

  it('says "a string or a list" once for a one-or-many field of the wrong type', () => {
    expect(brief(bad([...MINIMAL.slice(0, 3), '  - { name: api, path: /a, upstream: app, action: a:b, host: 5 }'].join('\n')))).toEqual([
      '4:62 /routes/0/host: must be a string or a list (got 5)',
    ]);
  });

  it('wants route hosts without a port', () => {
    expect(brief(bad([...MINIMAL.slice(0, 3), '  - { name: api, path: /a, upstream: app, action: a:b, host: [ok.example.com, "api.example.com:8443"] }'].join('\n')))).toEqual([
      '4:79 /routes/0/host/1: must be a host name like api.example.com or *.example.com (no port) (got "api.example.com:8443")',
    ]);
  });

  it('explains a duration written without its unit', () => {
    expect(brief(bad([...MINIMAL, 'server: { drainTimeout: 30 }'].join('\n')))).toEqual(['5:25 /server/drainTimeout: must be a duration like 500ms, 30s, 5m, 1h or 90d (got 30)']);
  });

  it('refuses a zero upstream keepAliveTimeout (undici cannot keep a connection idle for 0 ms)', () => {
    const text = ['upstreams:', '  app: { url: "http://127.0.0.1:3000", keepAliveTimeout: 0s }', ...MINIMAL.slice(2)].join('\n');
    expect(brief(bad(text))).toEqual([expect.stringMatching(/^2:\d+ \/upstreams\/app\/keepAliveTimeout: must be more than 0/)]);
    expect(good(text.replace('0s', '1500ms')).upstreams.get('app')?.keepAliveTimeoutMs).toBe(1500);
  });

  it('does not pile cross-field noise under a value of the wrong type', () => {
    expect(brief(bad(['upstreams: { app: { url: "http://h" } }', 'routes: nope'].join('\n')))).toEqual(['2:9 /routes: must be a list (got "nope")']);
  });

  it('never echoes secret values into messages (they end up in logs)', () => {
    const messages = bad([...MINIMAL, 'admin: { token: 123456789 }', 'keys: { pepper: 987654321 }', 'store: { redis: "http://:hunter2@redis:6379" }'].join('\n')).map((p) => p.message).join('\n');
    expect(messages).toContain('value not shown');
    for (const secret of ['123456789', '987654321', 'hunter2']) expect(messages).not.toContain(secret);
  });
});

describe('cross-field rules', () => {
  const routes = (...lines: string[]) => bad(['upstreams: { app: { url: "http://127.0.0.1:3000" } }', 'routes:', ...lines].join('\n'));

  it.each([
    ['/a/:id/:id', 'parameter ":id" appears twice'],
    ['/a/*/b', '"*" is only allowed as the last segment'],
    ['/a*', '"*" must be a whole segment (in "a*")'],
    ['/a/:1st', 'parameter ":1st" must be ":" and a name of letters, digits and "_" (not starting with a digit)'],
    ['/a/:', 'parameter ":" must be ":" and a name of letters, digits and "_" (not starting with a digit)'],
    ['/a//b', 'empty segment ("//")'],
    ['/a/%2e%2e', 'segment "%2e%2e" can never match a normalized path'],
  ])('refuses the route path %s', (path, reason) => {
    expect(brief(routes(`  - { name: r, path: "${path}", upstream: app, action: a:b }`))).toEqual([`3:22 /routes/0/path: ${reason}`]);
  });

  it.each(['/', '/a/', '/a/:id/*', '/*', '/a/:a_1/:B/x'])('accepts the route path %s', (path) => {
    expect(good(['upstreams: { app: { url: "http://127.0.0.1:3000" } }', 'routes:', `  - { name: r, path: "${path}", upstream: app, action: a:b }`].join('\n')).routes[0]?.path).toBe(path);
  });

  it('checks the path even when the upstream is undefined', () => {
    expect(routes('  - { name: r, path: "/a/*/b", upstream: nope, action: a:b }').map((p) => p.path)).toEqual(['/routes/0/path', '/routes/0/upstream']);
  });

  it('wants an action on a protected route, and none on a public one', () => {
    expect(brief(routes('  - { name: p, path: /p, upstream: app }', '  - { name: q, path: /q, upstream: app, public: true, action: a:b }'))).toEqual([
      '3:5 /routes/0: a protected route needs an action (or public: true)',
      '4:63 /routes/1/action: a public route takes no action (it forwards without authentication)',
    ]);
  });

  it('wants route credential styles to be enabled globally', () => {
    expect(brief(routes('  - { name: r, path: /r, upstream: app, action: a:b, credentials: [bearer, query] }'))).toEqual([
      '3:76 /routes/0/credentials/1: credential style "query" is not enabled under credentials (or tokens)',
    ]);
  });

  it('wants resource.param to be a parameter of the path', () => {
    expect(brief(routes('  - { name: r, path: "/a/:id", upstream: app, action: a:b, resource: { type: app, param: appId } }'))).toEqual([
      '3:90 /routes/0/resource/param: the path has no :appId parameter',
    ]);
  });

  it.each([
    ['ftp://h/x', 'must be an http:// or https:// URL without spaces, query or fragment (got "ftp://h/x")', false],
    ['http://h:99999/x', '"http://h:99999/x" is not a URL', false],
    ['http://h/x?a=1', 'must be an http:// or https:// URL without spaces, query or fragment (got "http://h/x?a=1")', false],
    ['http://user:pw@h/x', '"http://***@h/x" has credentials (they would be sent to the upstream on every request): an upstream URL is http(s)://host[:port][/base-path]', true],
    ['http://', 'must be an http:// or https:// URL without spaces, query or fragment (got "http://")', false],
  ])('refuses the upstream URL %s', (url, reason, secret) => {
    const problems = bad([`upstreams: { app: { url: "${url}" } }`, ...MINIMAL.slice(2)].join('\n'));
    expect(brief(problems)).toEqual([`1:26 /upstreams/app/url: ${reason}`]);
    if (secret) expect(problems[0]?.message).not.toContain('pw');
  });

  it('refuses durations longer than a timer can wait', () => {
    expect(brief(bad([...MINIMAL, 'server: { requestTimeout: 25d, drainTimeout: 24d }'].join('\n')))).toEqual([
      '5:27 /server/requestTimeout: too long: at most 24d (Node.js timers cannot wait longer)',
    ]);
  });

  it('wants exactly one of redis, sentinel and cluster', () => {
    expect(brief(bad([...MINIMAL, 'store:', '  redis: redis://r:6379', '  cluster: [{ host: r, port: 6379 }]'].join('\n')))).toEqual([
      '6:3 /store: choose one of redis, sentinel and cluster (found redis, cluster)',
    ]);
  });

  it('checks principals: unique names, defined roles, key ids and secrets unique across the file', () => {
    const text = [...MINIMAL,
      /*  5 */ 'roles: { viewer: { actions: [a:b] }, auditor: { actions: [a:b], serviceOnly: true } }',
      /*  6 */ 'principals:',
      /*  7 */ `  - { name: ann, kind: user, roles: [viewer, editor], keys: [{ id: k1, hash: "${HASH_A}" }] }`,
      /*  8 */ `  - { name: ann, kind: user, roles: [auditor], keys: [{ id: k1, hash: "${HASH_B}" }, { id: k2, hash: "${HASH_A}" }] }`,
    ].join('\n');
    expect(brief(bad(text))).toEqual([
      `${at(text, 7, 'editor')} /principals/0/roles/1: role "editor" is not defined (defined: viewer, auditor)`,
      `${at(text, 8, 'ann')} /principals/1/name: principal name "ann" is already used at /principals/0 (line 7)`,
      `${at(text, 8, 'auditor')} /principals/1/roles/0: role "auditor" may only be given to service principals`,
      `${at(text, 8, 'k1')} /principals/1/keys/0/id: key id "k1" is already used at /principals/0/keys/0 (line 7)`,
      `${at(text, 8, `"${HASH_A}"`)} /principals/1/keys/1/hash: the same secret is already declared at /principals/0/keys/0 (line 7)`,
    ]);
  });

  it('refuses an impossible expiry date and a hash of the wrong algorithm', () => {
    const text = [...MINIMAL, 'keys: { pepper: p }', 'principals:', `  - { name: a, kind: user, keys: [{ id: k, hash: "${HASH_A}", expiresAt: 2027-02-30 }] }`].join('\n');
    expect(brief(bad(text))).toEqual([
      `${at(text, 7, '"sha256')} /principals/0/keys/0/hash: must be hmac-sha256:<hex> because keys.pepper is set; make it with keygate hash-key`,
      `${at(text, 7, '2027')} /principals/0/keys/0/expiresAt: "2027-02-30" is not a calendar date`,
    ]);
  });
});

describe('one syntax error early in a long file', () => {
  it('shows the first few problems and how many more, not one per following token', () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `      - { id: k${i}, hash: "sha256:${'a'.repeat(64)}" }`);
    const text = ['audit: { enabled: ${AUDIT} }', 'upstreams: { app: { url: "http://127.0.0.1:3000" } }', 'routes: [{ name: a, path: /a, upstream: app, public: true }]',
      'principals:', '  - name: bot', '    kind: service', '    keys:', ...keys].join('\n');
    const r = loadConfigText(text, 'big.yaml', {});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.length).toBe(11);
    expect(r.problems[0]).toMatchObject({ file: 'big.yaml', line: 1 });
    expect(r.problems[10]?.message).toMatch(/^… and \d+ more syntax errors after these, most likely caused by the first one$/);
  });
});
