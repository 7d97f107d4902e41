/**
 * What a document's shell session runs against: keygate serving the doc's config, the echo
 * upstream (scripts/echo-upstream.ts) and, when the config needs one, redis-server — each on a
 * free loopback port, each a child process stopped by its pid.
 *
 * Ports: the docs say 8080 (proxy), 9090 (admin), 3000 (upstream) and 6379 (Redis). The session's
 * scripts and the served config get `127.0.0.1:PORT` / `localhost:PORT` (and a config's
 * `port: PORT`) rewritten to the free ports; the environment carries them too, for what reads
 * it: KEYGATE_PORT, KEYGATE_ADMIN_PORT (config/keygate.yaml), KEYGATE_ADMIN_URL (the CLI),
 * UPSTREAM_URL (configs), ECHO_PORT (scripts/echo-upstream.ts).
 *
 * The session's working directory is a scratch copy of the repo's top level (symlinks), so a doc
 * that writes `> ci-bot.csv` writes there; `keygate` on its PATH is the clone's CLI
 * (scripts/keygate), as `npm install -g` would put it (test/deploy/package.test.ts installs the
 * real package). scripts/dev there is a stand-in that runs what scripts/dev runs for `start` and
 * `echo` without sourcing scripts/env.sh, which may `npm ci` (a test must install nothing); a test
 * keeps the two in step.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startServe, type ServeProcess } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { ROOT, composeEnvironment, isObject, read, readYaml, tempDir } from './support.ts';
import type { RunAgainst } from './doc-shell.ts';

export interface Live {
  /** The session's environment (not the test process's: nothing leaks in from CI). */
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The doc's ports → the free ones. */
  rewrite(text: string): string;
  /** What serves, for test names and failure messages. */
  describe: string;
  stop(): Promise<void>;
}

/** The config file docker-compose.yml mounts into the keygate container. */
function composeConfig(): string | null {
  const compose = readYaml('docker-compose.yml');
  const svc = isObject(compose) && isObject(compose['services']) ? compose['services']['keygate'] : undefined;
  const volumes = isObject(svc) && Array.isArray(svc['volumes']) ? svc['volumes'] : [];
  const mount = volumes.map(String).find((v) => v.split(':')[1] === '/etc/keygate/keygate.yaml');
  return mount === undefined ? null : (mount.split(':')[0] as string).replace(/^\.\//, '');
}

const SHIM = `#!/usr/bin/env bash
# keygate on the doc session's PATH: the clone's CLI.
exec "${ROOT}scripts/keygate" "$@"
`;

/** Must run what scripts/dev runs for these two verbs (checked by a test against scripts/dev). */
export const DEV_VERBS = { start: 'exec node src/cli/main.ts serve "$@"', echo: 'exec node scripts/echo-upstream.ts "$@"' };

const DEV_STAND_IN = `#!/usr/bin/env bash
# scripts/dev for doc sessions: start and echo as scripts/dev runs them, without env.sh's installs.
set -euo pipefail
cd "${ROOT}"
cmd="\${1:-}"; shift || true
case "$cmd" in
  start) ${DEV_VERBS.start} ;;
  echo) ${DEV_VERBS.echo} ;;
  *) echo "scripts/dev $cmd: not available in doc sessions" >&2; exit 2 ;;
esac
`;

/** A scratch working directory that looks like the clone. */
function scratchClone(): { cwd: string; bin: string } {
  const base = tempDir('doc-session');
  const cwd = join(base, 'keygate');
  const bin = join(base, 'bin');
  mkdirSync(cwd);
  mkdirSync(bin);
  for (const entry of readdirSync(ROOT)) {
    if (entry === '.git' || entry === 'scripts') continue;
    symlinkSync(join(ROOT, entry), join(cwd, entry));
  }
  mkdirSync(join(cwd, 'scripts'));
  for (const f of readdirSync(join(ROOT, 'scripts'))) if (f !== 'dev') symlinkSync(join(ROOT, 'scripts', f), join(cwd, 'scripts', f));
  writeFileSync(join(cwd, 'scripts', 'dev'), DEV_STAND_IN);
  chmodSync(join(cwd, 'scripts', 'dev'), 0o755);
  writeFileSync(join(bin, 'keygate'), SHIM);
  chmodSync(join(bin, 'keygate'), 0o755);
  mkdirSync(join(base, 'home'));
  return { cwd, bin };
}

async function startEcho(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'scripts/echo-upstream.ts'), String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (c: Buffer) => { err += c.toString(); if (err.includes('echo upstream on')) resolve(); });
    child.once('exit', (code) => reject(new Error(`echo upstream exited (${code}): ${err}`)));
  });
  return child;
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * The doc's ports → free ones: `127.0.0.1:P` and `localhost:P` anywhere (scripts and configs),
 * and a config's `port: P` / `port: "P"` for the two listeners. `ports` may grow later (Redis).
 */
export function portRewriter(ports: Record<string, number>): (text: string) => string {
  return (text) =>
    text
      .replace(/\b(127\.0\.0\.1|localhost):(8080|9090|3000|6379)\b/g, (m, host: string, p: string) => (ports[p] === undefined ? m : `${host}:${ports[p]}`))
      .replace(/\b(port:\s*)"?(8080|9090)"?(?=\s*(?:[,}#]|$))/gm, (m, lead: string, p: string) => (ports[p] === undefined ? m : `${lead}${ports[p]}`));
}

export async function startLive(against: RunAgainst): Promise<Live> {
  const [proxy, admin, upstream] = [await freePort(), await freePort(), await freePort()];
  const ports: Record<string, number> = { '8080': proxy, '9090': admin, '3000': upstream };
  let redis: TestRedis | undefined;
  let echo: ChildProcess | undefined;
  let gw: ServeProcess | undefined;
  const rewrite = portRewriter(ports);
  const { cwd, bin } = scratchClone();
  const env: NodeJS.ProcessEnv = {
    PATH: [bin, dirname(process.execPath), process.env.PATH ?? '/usr/bin:/bin'].join(':'),
    HOME: join(dirname(cwd), 'home'),
    LANG: 'C.UTF-8',
    KEYGATE_PORT: String(proxy),
    KEYGATE_ADMIN_PORT: String(admin),
    KEYGATE_ADMIN_URL: `http://127.0.0.1:${admin}`,
    UPSTREAM_URL: `http://127.0.0.1:${upstream}`,
    ECHO_PORT: String(upstream),
  };
  const stop = async () => {
    await gw?.stop();
    await stopChild(echo);
    await redis?.stop();
  };
  if (against.kind === 'none') return { env, cwd, rewrite, describe: `nothing started by the test (${against.reason})`, stop };

  try {
    const path = against.kind === 'file' ? against.path : against.kind === 'default' ? 'config/keygate.yaml' : null;
    const source = path ?? (against.kind === 'block' ? against.at : '');
    let text = path !== null ? read(path) : against.kind === 'block' ? against.text : '';
    // What the config reads from the environment: Compose's environment for the file Compose
    // mounts; Redis when it names one; a throw-away value for any other `${VAR}` without a default.
    const served: NodeJS.ProcessEnv = path !== null && path === composeConfig() ? { ...composeEnvironment() } : {};
    const required = [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] as string);
    if (required.some((n) => /REDIS/.test(n)) || /\b(127\.0\.0\.1|localhost):6379\b/.test(text)) {
      redis = await startRedis();
      ports['6379'] = redis.port;
    }
    for (const name of required) {
      if (/REDIS/.test(name) && redis !== undefined) served[name] = redis.url;
      else served[name] ??= `doc-example-${name.toLowerCase()}-0123456789abcdef0123456789abcdef`;
    }
    text = rewrite(text);
    const file = join(tempDir('doc-config'), 'keygate.yaml');
    writeFileSync(file, text);
    echo = await startEcho(upstream);
    gw = await startServe(file, { ...served, ...env, KEYGATE_CONFIG: file });
    const describe = `keygate serving ${source}${redis ? ' on Redis' : ''}, the echo upstream`;
    return { env, cwd, rewrite, describe, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
