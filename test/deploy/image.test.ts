/**
 * The container image, without a Docker engine: the Dockerfile's promises are checked
 * statically, and the exact file set the image would hold (the .dockerignore allow-list plus the
 * lockfile's production dependencies) is assembled in a temp directory and run: `--version`,
 * `serve` from KEYGATE_CONFIG, the HEALTHCHECK command, and SIGTERM → exit 0, with nothing
 * written into its own tree (the image runs with a read-only root filesystem).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { freePort } from '../helpers/ports.ts';
import { ROOT, read, tempDir } from './support.ts';

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

  it('installs production dependencies only, from the lockfile', () => {
    const runs = one('RUN', dockerfile).join('\n');
    expect(runs).toMatch(/npm ci\b[^\n]*--omit=dev/);
    expect(runs).not.toMatch(/npm install/);
    expect(one('COPY', dockerfile).some((c) => c.includes('package-lock.json'))).toBe(true);
  });

  it('runs as a numeric non-root user, serves from the documented config path, checks /healthz', () => {
    const user = one('USER');
    expect(user).toHaveLength(1);
    expect(user[0]).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(one('ENV').join(' ')).toContain('KEYGATE_CONFIG=/etc/keygate/keygate.yaml');
    expect(one('ENV').join(' ')).toMatch(/KEYGATE_HEALTHCHECK_URL=http:\/\/127\.0\.0\.1:9090\/healthz/);
    expect(one('HEALTHCHECK')[0]).toMatch(/CMD \["node", "-e", /);
    expect(JSON.parse(one('ENTRYPOINT')[0] as string)).toEqual(['node', 'src/cli/main.ts']);
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

/** The image's /app, built the way the Dockerfile builds it. */
function assembleImageTree(): string {
  const dir = tempDir('image');
  for (const entry of allowList()) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
  for (const [path, meta] of Object.entries(lock.packages)) {
    if (path === '' || meta.dev === true) continue;
    const src = join(ROOT, path);
    if (!existsSync(src)) {
      if (meta.optional === true) continue; // another platform's optional binary
      throw new Error(`production dependency ${path} is not installed; run npm ci`);
    }
    cpSync(src, join(dir, path), { recursive: true, dereference: true });
  }
  return dir;
}

function snapshot(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), statSync(p).mtimeMs);
    }
  };
  walk(dir);
  return out;
}

describe('the image file set (.dockerignore allow-list + production dependencies)', () => {
  let app: string;
  let before: Map<string, number>;
  let child: ChildProcess | undefined;

  beforeAll(() => {
    app = assembleImageTree();
    before = snapshot(app);
  });
  afterAll(() => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    if (app !== undefined) rmSync(app, { recursive: true, force: true });
  });

  const env = (extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, NODE_ENV: 'production', HOME: '/nonexistent', ...extra });

  it('stays small: what keygate adds to the Node base image is under 40 MB', () => {
    // The base (node:24-alpine, ~165 MB unpacked) is fixed; this is the part a careless
    // dependency would grow. docs/operations.md quotes the figure.
    const size = [...snapshot(app).keys()].reduce((sum, f) => sum + statSync(join(app, f)).size, 0);
    expect(size).toBeLessThan(40 * 1024 * 1024);
  });

  it('starts without any dev dependency', () => {
    const r = spawnSync(process.execPath, ['src/cli/main.ts', '--version'], { cwd: app, env: env({}), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^keygate \d+\.\d+\.\d+/);
    expect(r.status).toBe(0);
  });

  it('serves from KEYGATE_CONFIG, passes its HEALTHCHECK, drains on SIGTERM and exits 0, writing nothing', async () => {
    const port = await freePort();
    const adminPort = await freePort();
    const config = join(tempDir('image-config'), 'keygate.yaml');
    writeFileSync(config, [
      `server: { port: ${port}, host: 127.0.0.1, drainTimeout: 2s }`,
      `admin: { port: ${adminPort}, host: 127.0.0.1 }`,
      'upstreams: { app: { url: "http://127.0.0.1:9" } }',
      'roles: { viewer: { actions: [application:view] } }',
      'routes:',
      '  - { name: app, path: "/api/*", upstream: app, action: application:view }',
      '',
    ].join('\n'));
    const proc = spawn(process.execPath, ['src/cli/main.ts', 'serve'], { cwd: app, env: env({ KEYGATE_CONFIG: config }), stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    const deadline = Date.now() + 15_000;
    while (!out.includes('keygate listening')) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`keygate did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }

    const healthcheck = JSON.parse(/CMD (\[.*\])$/.exec(one('HEALTHCHECK')[0] as string)?.[1] ?? '[]') as string[];
    expect(healthcheck[0]).toBe('node');
    const hc = spawnSync(process.execPath, healthcheck.slice(1), { cwd: app, env: env({ KEYGATE_HEALTHCHECK_URL: `http://127.0.0.1:${adminPort}/healthz` }), encoding: 'utf8' });
    expect(hc.status, hc.stderr).toBe(0);
    const down = spawnSync(process.execPath, healthcheck.slice(1), { cwd: app, env: env({ KEYGATE_HEALTHCHECK_URL: `http://127.0.0.1:${port}/nope` }), encoding: 'utf8' });
    expect(down.status, 'the HEALTHCHECK fails on a non-2xx answer').toBe(1);

    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('keygate stopped');
    expect(snapshot(app)).toEqual(before);
  });
});
