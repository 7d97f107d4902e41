/**
 * The container image. The Dockerfile's promises are checked statically; then, wherever a
 * container engine can be had (tools.ts), the image is built once and run for real: UID 1000
 * with no capabilities, a read-only root filesystem, HEALTHCHECK reaching `healthy`, exit 3
 * without a config, SIGHUP reload, SIGTERM letting an in-flight request finish, and identity
 * injected into what the upstream receives (issue 11). Without an engine that part is skipped
 * with the reason in its title.
 *
 * Containers here get no network of their own, so the test upstream runs in a container of
 * the same image and keygate joins its network namespace (`--network container:`): both are on
 * one loopback, and requests are sent from inside the upstream's container with `docker exec`.
 * That works the same on a machine with a normal bridge network.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashSecret } from '../../src/credentials/hash.ts';
import { ROOT, read, tempDir } from './support.ts';
import { containerEngine } from './tools.ts';

interface Instruction { op: string; args: string; stage: number }

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    pending += (pending === '' ? '' : ' ') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) continue;
    const m = /^(\S+)\s+([\s\S]*)$/.exec(pending);
    pending = '';
    if (m === null) continue;
    const op = (m[1] as string).toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2] as string, stage });
  }
  return out;
}

const dockerfile = instructions(read('Dockerfile'));
const finalStage = Math.max(...dockerfile.map((i) => i.stage));
const final = dockerfile.filter((i) => i.stage === finalStage);
const one = (op: string, list = final) => list.filter((i) => i.op === op).map((i) => i.args);

/** The .dockerignore allow-list: `*` then `!path` entries. */
function allowList(): string[] {
  const lines = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  expect(lines[0], '.dockerignore starts by excluding everything').toBe('*');
  return lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
}

describe('Dockerfile', () => {
  it('is multi-stage on an exact Node 24 release, the one development pins', () => {
    const arg = one('ARG', dockerfile.filter((i) => i.stage === -1)).find((a) => a.startsWith('NODE_IMAGE='));
    expect(arg, 'ARG NODE_IMAGE=… before the first FROM').toBeDefined();
    const image = (arg as string).slice('NODE_IMAGE='.length);
    const m = /^node:(\d+\.\d+\.\d+)-[a-z0-9.]+(@sha256:[a-f0-9]{64})?$/.exec(image);
    expect(m, `${image} names an exact version`).not.toBeNull();
    const devPin = (JSON.parse(read('.tools/package.json')) as { dependencies: { node: string } }).dependencies.node;
    expect(m?.[1]).toBe(devPin);
    expect(m?.[1]?.startsWith('24.')).toBe(true);
    expect(one('FROM', dockerfile).length).toBeGreaterThanOrEqual(2);
    expect(one('FROM', dockerfile).every((f) => f.startsWith('${NODE_IMAGE}'))).toBe(true);
  });

  it('installs from the lockfile, compiles, and keeps production dependencies and dist/ only', () => {
    const runs = one('RUN', dockerfile).join('\n');
    expect(runs).toMatch(/npm ci\b/);
    expect(runs).toMatch(/tsc -p tsconfig\.build\.json/);
    expect(runs).toMatch(/npm prune --omit=dev/);
    expect(runs).not.toMatch(/npm install/);
    expect(one('COPY', dockerfile).some((c) => c.includes('package-lock.json'))).toBe(true);
    const finalCopies = one('COPY');
    expect(finalCopies.some((c) => /^--from=\S+ \/app\/dist /.test(c))).toBe(true);
    expect(finalCopies.some((c) => /(^|\s)src\b/.test(c)), 'no TypeScript sources in the final image').toBe(false);
    expect(finalCopies.some((c) => /^proto\s/.test(c)), 'the Envoy protos the gRPC check loads at runtime').toBe(true);
  });

  it('pulls no BuildKit frontend and has a registry-mirror / extra-CA hook on npm ci', () => {
    expect(read('Dockerfile')).not.toMatch(/^#\s*syntax\s*=/m);
    const buildArgs = one('ARG', dockerfile.filter((i) => i.stage === 0)).map((a) => a.split('=')[0]);
    expect(buildArgs).toEqual(expect.arrayContaining(['NPM_REGISTRY', 'NPM_EXTRA_CA']));
    const install = one('RUN', dockerfile.filter((i) => i.stage === 0)).find((r) => r.includes('npm ci'));
    expect(install).toMatch(/NODE_EXTRA_CA_CERTS=/);
    expect(install).toMatch(/npm_config_registry="\$NPM_REGISTRY"/);
    expect(one('ARG').filter((a) => a.startsWith('NPM_')), 'the hook stays out of the final stage').toEqual([]);
  });

  it('runs as a numeric non-root user, serves from the documented config path, checks /healthz', () => {
    const user = one('USER');
    expect(user).toHaveLength(1);
    expect(user[0]).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(one('ENV').join(' ')).toContain('KEYGATE_CONFIG=/etc/keygate/keygate.yaml');
    expect(one('ENV').join(' ')).toMatch(/KEYGATE_HEALTHCHECK_URL=http:\/\/127\.0\.0\.1:9090\/healthz/);
    expect(one('HEALTHCHECK')[0]).toMatch(/CMD \["node", "-e", /);
    expect(JSON.parse(one('ENTRYPOINT')[0] as string)).toEqual(['node', 'dist/cli/bin.js']);
    expect(JSON.parse(one('CMD')[0] as string)).toEqual(['serve']);
    expect(one('STOPSIGNAL')).toEqual(['SIGTERM']);
    expect(one('EXPOSE')[0]?.split(/\s+/)).toEqual(['8080', '9090']);
  });

  it('copies only what .dockerignore lets into the context', () => {
    const allowed = allowList();
    for (const copy of one('COPY', dockerfile)) {
      if (copy.startsWith('--from=')) continue;
      const parts = copy.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) expect(allowed, `COPY ${src}`).toContain(src.replace(/\/$/, ''));
    }
  });
});


const engine = containerEngine();
if (!engine.ok) console.warn(`image.test.ts: real container tests skipped: ${engine.reason}`);
const realTitle = engine.ok ? 'the image, built and run on a real container engine' : `the image on a real container engine (skipped: ${engine.reason})`;

describe.skipIf(!engine.ok)(realTitle, () => {
  const { env: dockerEnv, legacyBuilder } = engine.ok ? engine.value : { env: {}, legacyBuilder: false };
  const tag = `keygate:test-${process.pid}`;
  const names = { upstream: `keygate-test-up-${process.pid}`, gateway: `keygate-test-gw-${process.pid}` };
  const secret = 'kg-image-test-secret';
  let configDir: string;

  function docker(args: string[], opts: { timeout?: number; env?: NodeJS.ProcessEnv } = {}) {
    const r = spawnSync('docker', args, { env: { ...dockerEnv, ...opts.env }, encoding: 'utf8', timeout: opts.timeout ?? 60_000 });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }
  const ok = (args: string[], timeout?: number) => {
    const r = docker(args, timeout === undefined ? {} : { timeout });
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} → ${r.code}\n${r.stderr}`);
    return r.stdout.trim();
  };
  const inspect = (name: string, format: string) => ok(['inspect', '-f', format, name]);
  const logs = (name: string) => { const r = docker(['logs', name]); return r.stdout + r.stderr; };

  async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- keygate logs ---\n${logs(names.gateway)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** A request sent from inside the upstream's container, whose loopback keygate shares. */
  const CLIENT = 'const [u, h] = process.argv.slice(1); fetch(u, { headers: JSON.parse(h) }).then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })), (e) => { console.log(JSON.stringify({ error: String(e) })); });';
  function request(path: string, headers: Record<string, string> = {}): { status: number; body: string } {
    return JSON.parse(ok(['exec', names.upstream, 'node', '-e', CLIENT, `http://127.0.0.1:8080${path}`, JSON.stringify(headers)])) as { status: number; body: string };
  }
  const echoed = (r: { body: string }) => JSON.parse(r.body) as { url: string; headers: Record<string, string> };

  const config = (extraRoute: string) => [
    'server: { port: 8080, host: 127.0.0.1, drainTimeout: 10s }',
    'admin: { port: 9090, host: 127.0.0.1 }',
    'identity: { header: X-Authenticated-User }',
    'credentials: { bearer: true, hideCredentials: true }',
    'roles: { viewer: { actions: [application:view] } }',
    'upstreams: { app: { url: "http://127.0.0.1:3000" } }',
    'routes:',
    '  - { name: app, path: "/api/applications/:appId/*", upstream: app, action: application:view }',
    extraRoute,
    'principals:',
    `  - { name: ci, kind: service, roles: [viewer], keys: [{ id: ci-1, hash: "sha256:${hashSecret(secret)}" }] }`,
    '',
  ].join('\n');

  beforeAll(() => {
    // Once per run: a cached build takes seconds, a cold one a few minutes on two cores.
    const build = docker(['build', '--network', 'host', '-t', tag, ROOT], { timeout: 900_000, env: legacyBuilder ? { DOCKER_BUILDKIT: '0' } : {} });
    if (build.code !== 0) throw new Error(`docker build failed:\n${build.stdout.slice(-3000)}\n${build.stderr.slice(-3000)}`);

    configDir = tempDir('image-run');
    // The containers run as UID 1000: the mounted directory must be readable by it.
    chmodSync(configDir, 0o755);
    writeFileSync(join(configDir, 'keygate.yaml'), config(''), { mode: 0o644 });
    writeFileSync(join(configDir, 'upstream.mjs'), [
      "import { createServer } from 'node:http';",
      'createServer((req, res) => {',
      '  req.resume();',
      "  const reply = () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ url: req.url, headers: req.headers })); };",
      "  if (req.url.includes('/slow')) { console.log('slow request received'); setTimeout(reply, 2500); } else reply();",
      "}).listen(3000, '127.0.0.1', () => console.log('upstream listening'));",
      '',
    ].join('\n'), { mode: 0o644 });

    // The upstream owns the network namespace (no network of its own: --network none).
    ok(['run', '-d', '--name', names.upstream, '--network', 'none', '-v', `${configDir}:/test:ro`, '--entrypoint', 'node', tag, '/test/upstream.mjs']);
    // keygate as the README runs it: read-only root, config mounted read-only at the documented
    // path. Only the health check's interval is shortened (its command is the image's own).
    ok(['run', '-d', '--name', names.gateway, '--network', `container:${names.upstream}`, '--read-only',
      '-v', `${configDir}:/etc/keygate:ro`, '--health-interval', '1s', '--health-start-period', '0s', tag]);
  }, 960_000);

  afterAll(() => {
    for (const name of [names.gateway, names.upstream]) docker(['rm', '-f', name]);
    docker(['rmi', tag]);
  });

  it('exits 3 and names the file when no config is mounted', () => {
    const r = docker(['run', '--rm', '--network', 'none', tag], { timeout: 60_000 });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('/etc/keygate/keygate.yaml');
    expect(r.stderr).toContain('no such file');
  });

  it('reaches healthy with the image\'s own HEALTHCHECK command', async () => {
    const test = JSON.parse(inspect(tag, '{{json .Config.Healthcheck.Test}}')) as string[];
    expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    await until('healthy', () => (inspect(names.gateway, '{{.State.Health.Status}}') === 'healthy' ? true : undefined), 60_000);
  });

  it('runs as UID 1000 with no capabilities, on a read-only root filesystem', () => {
    expect(inspect(tag, '{{.Config.User}}')).toBe('1000:1000');
    expect(inspect(names.gateway, '{{.HostConfig.ReadonlyRootfs}}')).toBe('true');
    const status = ok(['exec', names.gateway, 'node', '-e', "process.stdout.write(require('fs').readFileSync('/proc/1/status', 'utf8'))"]);
    const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)?.[1]?.trim();
    expect(field('Uid')?.split(/\s+/)).toEqual(['1000', '1000', '1000', '1000']);
    expect(field('Gid')?.split(/\s+/)).toEqual(['1000', '1000', '1000', '1000']);
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb']) expect(field(set), set).toBe('0000000000000000');
    expect(ok(['exec', names.gateway, 'keygate', '--version']), 'the CLI is on PATH').toMatch(/^keygate \d+\.\d+\.\d+$/);
    const write = docker(['exec', names.gateway, 'node', '-e', "require('fs').writeFileSync('/app/dist/x.js', '')"]);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/EROFS|EACCES/);
  });

  it('injects the identity into what the upstream receives, and drops what the client sent', () => {
    const r = request('/api/applications/app-1/status', { authorization: `Bearer ${secret}`, 'x-authenticated-user': 'mallory', 'x-authenticated-roles': 'admin' });
    expect(r.status).toBe(200);
    const got = echoed(r);
    expect(got.url).toBe('/api/applications/app-1/status');
    expect(got.headers['x-authenticated-user']).toBe('ci');
    expect(got.headers['x-authenticated-key-id']).toBe('ci-1');
    expect(got.headers['x-authenticated-roles']).toBe('viewer');
    expect(got.headers['authorization']).toBeUndefined();
    expect(request('/api/applications/app-1/status', { authorization: 'Bearer wrong' }).status).toBe(401);
  });

  it('reloads its config on SIGHUP', async () => {
    expect(request('/api/reports/daily', { authorization: `Bearer ${secret}` }).status).toBe(404);
    writeFileSync(join(configDir, 'keygate.yaml'), config('  - { name: reports, path: "/api/reports/*", upstream: app, action: application:view }'));
    ok(['kill', '--signal', 'HUP', names.gateway]);
    await until('a SIGHUP reload', () => logs(names.gateway).split('\n').find((l) => l.includes('"reason":"sighup"') && l.includes('config reloaded')));
    const r = request('/api/reports/daily', { authorization: `Bearer ${secret}` });
    expect(r.status).toBe(200);
    expect(echoed(r).url).toBe('/api/reports/daily');
  });

  it('on SIGTERM (docker stop) lets an in-flight request finish, then exits 0', async () => {
    const client = spawn('docker', ['exec', names.upstream, 'node', '-e', CLIENT, 'http://127.0.0.1:8080/api/applications/app-1/slow', JSON.stringify({ authorization: `Bearer ${secret}` })], { env: dockerEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    client.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const clientDone = new Promise<number | null>((r) => client.on('exit', (code) => r(code)));
    await until('the slow request at the upstream', () => (logs(names.upstream).includes('slow request received') ? true : undefined));
    const stopped = Date.now();
    const stop = spawn('docker', ['stop', '--time', '20', names.gateway], { env: dockerEnv, stdio: 'ignore' });
    const stopDone = new Promise<number | null>((r) => stop.on('exit', (code) => r(code)));
    expect(await clientDone).toBe(0);
    const answer = JSON.parse(out) as { status: number; body: string };
    expect(answer.status).toBe(200);
    expect(echoed(answer).url).toBe('/api/applications/app-1/slow');
    expect(await stopDone).toBe(0);
    expect(Date.now() - stopped, 'exited on its own, well before docker stop would SIGKILL').toBeLessThan(15_000);
    expect(inspect(names.gateway, '{{.State.ExitCode}}')).toBe('0');
    const log = logs(names.gateway);
    expect(log).toContain('"signal":"SIGTERM"');
    expect(log).toContain('keygate stopped');
  });
});
