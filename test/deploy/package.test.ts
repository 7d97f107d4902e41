/**
 * The npm package as a user gets it (issue 11): `npm pack` (which runs `prepack`, compiling
 * src/ to dist/), then `npm install -g` of the tarball into a temporary prefix with the project's
 * Node, then the installed `keygate` run from a directory that is not the repo: --version,
 * --help, init, check-config, serve with an authenticated request through it, the admin CLI, and
 * a clear refusal on a Node older than the package supports. Installation resolves the
 * dependencies with --prefer-offline: the local npm cache when it has them, the registry if not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { freePort } from '../helpers/ports.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { ROOT, read, tempDir } from './support.ts';

const pkg = JSON.parse(read('package.json')) as { name: string; version: string };
// The project's Node first on PATH, so npm, the prepack script and the installed bin's
// `#!/usr/bin/env node` all run on it rather than on an older system Node.
const PATH = [dirname(process.execPath), process.env['PATH'] ?? ''].join(delimiter);

let work: string;
let tarball: string;
let prefix: string;
let bin: string;

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, env: { ...process.env, PATH, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
}

function keygate(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(bin, args, { cwd, env: { PATH, HOME: work, ...env }, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  work = tempDir('pack');
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', work], ROOT)) as { filename: string }[];
  tarball = join(work, (packed[0] as { filename: string }).filename);
  prefix = join(work, 'prefix');
  npm(['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], work);
  bin = join(prefix, 'bin', 'keygate');
}, 300_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the compiled CLI, config, schema, README and LICENSE, and no sources, tests or benchmarks', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter((f) => f !== '').map((f) => f.replace(/^package\//, ''));
    for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/cli/bin.js', 'dist/cli/main.js', 'dist/server.js', 'config/keygate.yaml', 'config/keygate.schema.json']) expect(files, f).toContain(f);
    // The gRPC check service loads Envoy's protos at runtime; their licenses travel with them.
    for (const f of ['proto/envoy/service/auth/v3/external_auth.proto', 'proto/google/rpc/status.proto', 'proto/validate/validate.proto', 'proto/udpa/annotations/status.proto', 'proto/README.md', 'proto/licenses/envoyproxy-data-plane-api.LICENSE', 'proto/licenses/cncf-xds.LICENSE']) expect(files, f).toContain(f);
    const stray = files.filter((f) => /^(src|test|bench|helm|deploy|scripts|docs|\.ci|\.tools)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')));
    expect(stray).toEqual([]);
    expect(read('LICENSE')).toContain('Apache License\n                           Version 2.0, January 2004');
  });

  it('installs a keygate command that points at compiled JavaScript', () => {
    expect(existsSync(bin), bin).toBe(true);
    const installed = JSON.parse(readFileSync(join(prefix, 'lib', 'node_modules', pkg.name, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(installed.bin['keygate']).toMatch(/^dist\/.*\.js$/);
    expect(statSync(join(prefix, 'lib', 'node_modules', pkg.name, installed.bin['keygate'] as string)).mode & 0o111).not.toBe(0);
  });
});

describe('the installed keygate, run outside the repository', () => {
  let dir: string;
  let keys: { admin: string; demo: string };

  beforeAll(() => {
    dir = tempDir('pack-run');
  });

  it('--version and --help', () => {
    const v = keygate(['--version'], dir);
    expect(v.stderr).toBe('');
    expect(v.stdout.trim()).toBe(`keygate ${pkg.version}`);
    const h = keygate(['--help'], dir);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^\s+init\s/m);
    const serve = keygate(['serve', '--help'], dir);
    expect(serve.code).toBe(0);
    expect(serve.stdout).toContain('$KEYGATE_CONFIG, else ./keygate.yaml, else the packaged demo default');
  });

  it('init writes a starter keygate.yaml, printing each secret once, and refuses to overwrite it', () => {
    const r = keygate(['init'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const admin = /admin key[^:]*:\s+(kg_\w+)/.exec(r.stdout)?.[1];
    const demo = /demo key[^:]*:\s+(kg_\w+)/.exec(r.stdout)?.[1];
    expect(admin).toBeDefined();
    expect(demo).toBeDefined();
    keys = { admin: admin as string, demo: demo as string };
    expect(r.stdout.split(keys.demo).length - 1, 'the demo key is printed once in the key list and once in the example curl').toBe(2);
    const text = readFileSync(join(dir, 'keygate.yaml'), 'utf8');
    expect(text).not.toContain(keys.admin);
    expect(text).not.toContain(keys.demo);
    expect(text).toMatch(/host: 127\.0\.0\.1/);

    const again = keygate(['init'], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('--force');
    expect(readFileSync(join(dir, 'keygate.yaml'), 'utf8')).toBe(text);
    const forced = keygate(['init', '--force', 'other.yaml'], dir);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(dir, 'other.yaml'), 'utf8')).not.toBe(text);
  });

  it('check-config accepts the starter config', () => {
    const r = keygate(['check-config', 'keygate.yaml'], dir);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('keygate.yaml: OK');
    expect(r.code).toBe(0);
  });

  describe('serve (./keygate.yaml from the working directory)', () => {
    let upstream: TestUpstream;
    let child: ChildProcess;
    let out = '';
    let port: number;
    let adminPort: number;

    beforeAll(async () => {
      upstream = await startUpstream();
      port = await freePort();
      adminPort = await freePort();
      child = spawn(bin, ['serve'], { cwd: dir, env: { PATH, HOME: work, KEYGATE_PORT: String(port), KEYGATE_ADMIN_PORT: String(adminPort), UPSTREAM_URL: upstream.url }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
      const deadline = Date.now() + 20_000;
      while (!out.includes('keygate listening')) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`keygate serve did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    afterAll(async () => {
      if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
      await upstream?.close();
    });

    it('says in its first log line which config it runs and why', () => {
      const first = JSON.parse(out.split('\n')[0] as string) as { msg: string; config: string; source: string };
      expect(first.source).toBe('./keygate.yaml');
      expect(first.config).toBe('keygate.yaml');
      expect(first.msg).toContain('./keygate.yaml');
    });

    it('proxies an authenticated request with the identity injected and client-sent identity dropped', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/applications/app-1/status`, { headers: { authorization: `Bearer ${keys.demo}`, 'x-authenticated-user': 'mallory' } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      const got = upstream.received.at(-1);
      expect(got?.url).toBe('/api/applications/app-1/status');
      expect(got?.headers.get('x-authenticated-user')).toEqual(['demo']);
      expect(got?.headers.get('x-authenticated-key-id')).toEqual(['demo-1']);
      expect(got?.headers.has('authorization')).toBe(false);
      const denied = await fetch(`http://127.0.0.1:${port}/api/applications/app-1/status`, { headers: { authorization: 'Bearer kg_not-a-key' } });
      expect(denied.status).toBe(401);
      expect(upstream.received).toHaveLength(1);
    });

    it('the admin key printed by init drives the admin CLI', () => {
      const env = { KEYGATE_ADMIN_URL: `http://127.0.0.1:${adminPort}`, KEYGATE_ADMIN_TOKEN: keys.admin };
      const r = keygate(['principals', 'list'], dir, env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^\S+\s+admin\s/m);
      expect(r.stdout).toMatch(/^\S+\s+demo\s/m);
      expect(keygate(['principals', 'list'], dir, { ...env, KEYGATE_ADMIN_TOKEN: keys.demo }).code).toBe(4);
    });

    it('drains on SIGTERM and exits 0', async () => {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('keygate stopped');
    });
  });

  it('falls back to the packaged default config from a directory without keygate.yaml', () => {
    const installed = join(prefix, 'lib', 'node_modules', pkg.name);
    const script = `import(${JSON.stringify(join(installed, 'dist/cli/serve-config.js'))}).then((m) => console.log(JSON.stringify(m.resolveServeConfig(undefined, {}, process.cwd()))))`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: tempDir('pack-empty'), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ file: join(installed, 'config', 'keygate.yaml'), source: 'packaged default' });
    const check = keygate(['check-config', join(installed, 'config', 'keygate.yaml')], dir);
    expect(check.code, check.stderr).toBe(0);
  });

  it('npx --package <tarball> keygate runs it too', () => {
    const out = npm(['exec', '--yes', '--prefer-offline', '--package', tarball, '--', 'keygate', '--version'], tempDir('pack-npx'));
    expect(out.trim()).toBe(`keygate ${pkg.version}`);
  });
});

// The system Node on this kind of machine is often older than the package supports (issue 11
// saw `node src/cli/main.ts` die on Node 20): the installed command must say so, not crash.
const system = spawnSync('/usr/bin/node', ['-p', 'process.versions.node'], { encoding: 'utf8' });
const systemVersion = system.status === 0 ? system.stdout.trim() : '';
const [sysMajor = 0, sysMinor = 0] = systemVersion.split('.').map(Number);
const olderSystemNode = systemVersion !== '' && (sysMajor < 22 || (sysMajor === 22 && sysMinor < 19));

describe.skipIf(!olderSystemNode)(`on the system Node ${systemVersion || '(none at /usr/bin/node)'}, older than engines.node`, () => {
  it('the installed command refuses with the version it needs, exit 1', () => {
    const r = spawnSync(bin, ['--version'], { env: { PATH: `/usr/bin${delimiter}/bin`, HOME: work }, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`keygate: needs Node.js >= 22.19, but this is v${systemVersion}`);
    expect(r.stderr).not.toMatch(/TypeError|at Object\./);
  });
});
