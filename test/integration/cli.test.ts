import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { runCli, ROOT } from '../helpers/cli.ts';

describe('keygate CLI', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`keygate ${pkg.version}`);
  });

  it('--help lists the commands and the exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const s of ['serve', 'check-config', 'hash-key', 'principals', 'keys', 'groups', 'Exit codes']) expect(r.stdout).toContain(s);
  });

  it('an unknown command or option is a usage error (exit 2)', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
    const r = await runCli(['serve', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('keygate --help');
  });

  it('hash-key hashes stdin without the trailing newline', async () => {
    const r = await runCli(['hash-key'], { stdin: 's3cret-value\n' });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`sha256:${createHash('sha256').update('s3cret-value').digest('hex')}`);
    expect(r.stdout).not.toContain('s3cret-value');
    expect((await runCli(['hash-key'], { stdin: '' })).code).toBe(2);
  });

  it('check-config prints a route summary for a good file', async () => {
    const r = await runCli(['check-config', join(ROOT, 'config/keygate.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('app-read');
    expect(r.stdout).toContain('OK');
    expect(r.stdout).not.toMatch(/[0-9a-f]{64}/);
  });

  it('check-config reports every problem with file, line, column and path, exit 3', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, [
      'server: { prot: 8080 }',
      'upstreams: { app: { url: "http://127.0.0.1:3000", timeout: 30 } }',
      'routes:',
      '  - { name: r1, path: /a, upstream: nope, action: x:y }',
      '',
    ].join('\n'));
    const r = await runCli(['check-config', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${file}:1:`);
    expect(r.stderr).toContain('prot');
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2:\\d+: /upstreams/app/timeout`));
    expect(r.stderr).toMatch(/:4:\d+: \/routes\/0\/upstream/);
  });

  it('serve refuses to start on an invalid file (exit 3)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'routes: 7\n');
    const r = await runCli(['serve', '--config', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('not starting');
  });
});
