/**
 * The CLI against a real gateway (embedded store) as a child process: global --admin-url/--token,
 * names in tables, JSON errors, the missing-token message (issue 11, "a CLI that helps").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { runCli } from '../helpers/cli.ts';

const TOKEN = 'admin-token-for-cli-tests-0123456789';
let gw: TestGateway;
/** The environment points nowhere useful, so only the flags can make a command work. */
const NOWHERE = { KEYGATE_ADMIN_URL: 'http://127.0.0.1:1', KEYGATE_ADMIN_TOKEN: '' };
const flags = () => ['--admin-url', gw.adminUrl, '--token', TOKEN];

beforeAll(async () => {
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
upstreams: { app: { url: "http://127.0.0.1:9" } }
roles:
  viewer: { actions: [app:view] }
routes:
  - { name: app, path: "/api/*", upstream: app, action: app:view }
`);
});
afterAll(async () => {
  await gw?.close();
});

describe('global --admin-url and --token', () => {
  it('work before or after the command, and win over the environment', async () => {
    const before = await runCli([...flags(), 'principals', 'create', 'flag-bot', '--kind', 'service', '--role', 'viewer'], { env: NOWHERE });
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toContain('flag-bot');
    const after = await runCli(['principals', 'show', 'flag-bot', `--admin-url=${gw.adminUrl}`, `--token=${TOKEN}`], { env: NOWHERE });
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toContain('flag-bot');
  });

  it('without any credential, say how to give one, before sending anything', async () => {
    const r = await runCli(['keys', 'list', '--admin-url', gw.adminUrl], { env: NOWHERE });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('set KEYGATE_ADMIN_TOKEN or pass --token');
  });

  it('a wrong credential is a 401 with the same hint', async () => {
    const r = await runCli(['keys', 'list', '--admin-url', gw.adminUrl, '--token', 'not-the-token'], { env: NOWHERE });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^keygate: 401 unauthorized: .*check KEYGATE_ADMIN_TOKEN or --token/);
  });

  it('a flag without its value is a usage error', async () => {
    const r = await runCli(['keys', 'list', '--token'], { env: NOWHERE });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--token needs a value');
  });
});

describe('tables show names', () => {
  it('keys list and keys create name the principal, not only its id', async () => {
    const p = await runCli([...flags(), 'principals', 'create', 'named-bot', '--kind', 'service', '--role', 'viewer', '--json'], { env: NOWHERE });
    expect(p.code, p.stderr).toBe(0);
    const id = (JSON.parse(p.stdout) as { id: string }).id;
    expect(id).not.toBe('named-bot');
    const created = await runCli([...flags(), 'keys', 'create', '--principal', 'named-bot', '--name', 'nightly'], { env: NOWHERE });
    expect(created.code, created.stderr).toBe(0);
    const list = await runCli([...flags(), 'keys', 'list', '--principal', 'named-bot'], { env: NOWHERE });
    expect(list.code, list.stderr).toBe(0);
    const [header, row] = list.stdout.trim().split('\n');
    expect(header).toMatch(/^ID\s+PRINCIPAL\s+NAME/);
    expect(row).toMatch(/^\S+\s+named-bot\s+nightly\s/);
    expect(list.stdout).not.toContain(id);
    // --json keeps the API's shape: ids, for scripts.
    const json = await runCli([...flags(), 'keys', 'list', '--principal', 'named-bot', '--json'], { env: NOWHERE });
    expect((JSON.parse(json.stdout) as { items: { principalId: string }[] }).items[0]?.principalId).toBe(id);
  });
});

describe('errors under --json', () => {
  const parse = (s: string) => JSON.parse(s) as { error: { code: string; message: string; status?: number } };

  it('an API refusal is the API\'s error shape on stderr, nothing on stdout, exit 4', async () => {
    const r = await runCli([...flags(), 'principals', 'show', 'nobody', '--json'], { env: NOWHERE });
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(parse(r.stderr)).toEqual({ error: { code: 'not_found', status: 404, message: 'No principal "nobody"' } });
  });

  it('an unreachable API, a usage error and a missing token are JSON too', async () => {
    const down = await runCli(['keys', 'list', '--json'], { env: { ...NOWHERE, KEYGATE_ADMIN_TOKEN: TOKEN } });
    expect(down.code).toBe(4);
    expect(parse(down.stderr).error.code).toBe('unreachable');
    const usage = await runCli([...flags(), 'keys', 'lst', '--json'], { env: NOWHERE });
    expect(usage.code).toBe(2);
    expect(parse(usage.stderr).error).toMatchObject({ code: 'usage', message: expect.stringContaining('did you mean "list"?') });
    const token = await runCli(['keys', 'list', '--json'], { env: NOWHERE });
    expect(token.code).toBe(2);
    expect(parse(token.stderr).error.code).toBe('missing_token');
  });

  it('without --json, errors stay one readable line', async () => {
    const r = await runCli([...flags(), 'principals', 'show', 'nobody'], { env: NOWHERE });
    expect(r.stderr.trim()).toBe('keygate: 404 not_found: No principal "nobody"');
  });
});
