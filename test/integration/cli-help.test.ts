/**
 * `--help` after every command and verb, typo suggestions, and check-config's --json,
 * --placeholders and shadowed-route warnings, through the real CLI process (issue 11).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { TOP, VERBS } from '../../src/cli/help.ts';

/** No admin API anywhere: help must never need one. */
const OFFLINE = { KEYGATE_ADMIN_URL: 'http://127.0.0.1:1', KEYGATE_ADMIN_TOKEN: '' };

async function inBatches<T, R>(items: T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += n) out.push(...(await Promise.all(items.slice(i, i + n).map(f))));
  return out;
}

describe('--help', () => {
  const lines = [
    ...Object.keys(TOP).map((c) => [c]),
    ...Object.entries(VERBS).flatMap(([g, verbs]) => Object.keys(verbs).map((v) => [g, v])),
  ];

  it('works after every command and every verb, and -h too', async () => {
    expect(lines.length).toBeGreaterThanOrEqual(28);
    const results = await inBatches(lines, 4, async (words) => ({ words, r: await runCli([...words, '--help'], { env: OFFLINE }) }));
    for (const { words, r } of results) {
      const what = words.join(' ');
      expect(r.code, `${what} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout, what).toMatch(new RegExp(`^Usage: keygate ${what}`));
    }
    for (const words of [['serve'], ['keys'], ['groups', 'create']]) {
      expect((await runCli([...words, '-h'], { env: OFFLINE })).stdout).toBe(results.find((x) => x.words.join() === words.join())?.r.stdout);
    }
  }, 120_000);

  it('wins over missing arguments and flags after it', async () => {
    const r = await runCli(['keys', 'create', '--help', '--no-such-flag'], { env: OFFLINE });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--expires-in');
    const c = await runCli(['check-config', '--help'], { env: OFFLINE });
    expect(c.stdout).toContain('--placeholders');
  });

  it('`keygate help keys` is `keygate keys --help`; the main help names the global options', async () => {
    const a = await runCli(['help', 'keys']);
    const b = await runCli(['keys', '--help']);
    expect(a.stdout).toBe(b.stdout);
    const main = await runCli(['--help']);
    for (const s of ['--admin-url', '--token', '--json', 'KEYGATE_ADMIN_TOKEN']) expect(main.stdout).toContain(s);
  });
});

describe('typo suggestions', () => {
  it.each([
    [['chekc-config'], 'unknown command "chekc-config" (did you mean "check-config"?)'],
    [['kyes', 'list'], 'unknown command "kyes" (did you mean "keys"?)'],
    [['keys', 'lsit'], 'unknown verb "keys lsit" (did you mean "list"?)'],
    [['principals', 'craete', 'x'], 'unknown verb "principals craete" (did you mean "create"?)'],
    [['keys', 'create', '--principle', 'x'], 'keys create: unknown option "--principle" (did you mean "--principal"?)'],
    [['audit', '--desicion', 'denied'], 'audit: unknown option "--desicion" (did you mean "--decision"?)'],
    [['serve', '--cofnig', 'x.yaml'], 'serve: unknown option "--cofnig" (did you mean "--config"?)'],
  ])('%j', async (args, message) => {
    const r = await runCli(args, { env: OFFLINE });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('and none when nothing is close', async () => {
    const r = await runCli(['frobnicate'], { env: OFFLINE });
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('did you mean');
  });
});

describe('check-config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-check-'));
  const write = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const deploy = write('deploy.yaml', [
    'server: { port: "${KG_TEST_PORT}" }',
    'admin: { token: "${KG_TEST_ADMIN_TOKEN}" }',
    'upstreams: { app: { url: "${KG_TEST_UPSTREAM_URL}" } }',
    'roles: { viewer: { actions: [app:view] }, editor: { actions: [app:edit] } }',
    'routes:',
    '  - { name: everything, path: "/api/*", upstream: app, action: app:view }',
    '  - { name: edit-item, path: "/api/items/:id", methods: [PUT], upstream: app, action: app:edit }',
    '',
  ].join('\n'));

  it('names the unset variables and points at --placeholders (exit 3)', async () => {
    const r = await runCli(['check-config', deploy]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('unset: KG_TEST_PORT, KG_TEST_ADMIN_TOKEN, KG_TEST_UPSTREAM_URL');
    expect(r.stderr).toContain('--placeholders');
  });

  it('--placeholders checks the rest, lists each unset variable with its line, warns of the shadowed route (exit 0)', async () => {
    const r = await runCli(['check-config', '--placeholders', deploy]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${deploy}:1: /server/port: \${KG_TEST_PORT} is not set`);
    expect(r.stderr).toContain(`${deploy}:3: /upstreams/app/url: \${KG_TEST_UPSTREAM_URL} is not set`);
    expect(r.stderr).toContain(`${deploy}:7: warning: route "edit-item" can never match: route "everything" (line 6) comes first`);
    expect(r.stdout).toContain('OK (1 warning(s)) with 3 placeholder(s)');
  });

  it('--json is one document with problems, warnings, unset variables and a summary', async () => {
    const bad = await runCli(['check-config', '--json', deploy]);
    expect(bad.code).toBe(3);
    const b = JSON.parse(bad.stdout) as { ok: boolean; problems: { line: number; path: string }[] };
    expect(b.ok).toBe(false);
    expect(b.problems.map((p) => [p.line, p.path])).toEqual([[1, '/server/port'], [2, '/admin/token'], [3, '/upstreams/app/url']]);

    const good = await runCli(['check-config', '--json', '--placeholders', deploy]);
    expect(good.code, good.stderr).toBe(0);
    const g = JSON.parse(good.stdout) as {
      ok: boolean; warnings: { line: number; message: string }[]; unsetVariables: { name: string; line: number }[];
      summary: { routes: { name: string }[]; adminToken: boolean };
    };
    expect(g.ok).toBe(true);
    expect(g.warnings.map((w) => w.line)).toEqual([7]);
    expect(g.unsetVariables.map((u) => [u.name, u.line])).toEqual([['KG_TEST_PORT', 1], ['KG_TEST_ADMIN_TOKEN', 2], ['KG_TEST_UPSTREAM_URL', 3]]);
    expect(g.summary.routes.map((r) => r.name)).toEqual(['everything', 'edit-item']);
    expect(good.stderr).toBe('');
  });

  it('set variables are used as given, and a secret never appears in the output', async () => {
    const secret = 'a-real-admin-token-from-the-environment-42';
    const r = await runCli(['check-config', '--json', deploy], { env: { KG_TEST_PORT: '8088', KG_TEST_ADMIN_TOKEN: secret, KG_TEST_UPSTREAM_URL: 'http://127.0.0.1:3000' } });
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).not.toContain(secret);
    expect((JSON.parse(r.stdout) as { summary: { listen: string } }).summary.listen).toMatch(/:8088$/);
  });
});
