import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

/** A real nginx or Caddy in front of an upstream, asking keygate's check listener. */
export interface FrontProxy {
  url: string;
  port: number;
  /** What the process wrote (its error log for nginx), for failure messages. */
  output(): string;
  /** SIGTERM by pid, SIGKILL after 2 s. Idempotent. */
  stop(): Promise<void>;
}

/** Every front proxy still running, killed when the test process exits however it exits. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function run(cmd: string, args: string[], port: number, log: () => string, extraOut: (d: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  proc.stdout?.on('data', (d: Buffer) => extraOut(d.toString('utf8')));
  proc.stderr?.on('data', (d: Buffer) => extraOut(d.toString('utf8')));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${cmd} exited at start:\n${log()}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${cmd} did not listen within 10 s:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return proc;
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    const forced = setTimeout(() => proc.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(forced);
  };
}

/**
 * nginx in the foreground (`daemon off`) with its prefix, pid file, logs and temp paths in a
 * fresh directory. `server` is the body of the one `server {}` block; `{port}` is filled in.
 */
export async function startNginx(server: string): Promise<FrontProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-nginx-'));
  mkdirSync(join(dir, 'logs'));
  const port = await freePort();
  const conf = `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log info;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
${server}
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  let out = '';
  const log = () => {
    try { return `${out}\n${readFileSync(join(dir, 'logs/error.log'), 'utf8')}`; } catch { return out; }
  };
  const proc = await run('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'logs/error.log')], port, log, (d) => { out = (out + d).slice(-4000); });
  return { url: `http://127.0.0.1:${port}`, port, output: log, stop: stopper(proc) };
}

/**
 * Caddy (`caddy run`) from a Caddyfile with its admin endpoint, automatic HTTPS and storage
 * off or in a fresh directory. `site` is the body of the one `http://127.0.0.1:{port}` block.
 */
export async function startCaddy(site: string): Promise<FrontProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-caddy-'));
  const port = await freePort();
  const caddyfile = `{
\tadmin off
\tauto_https off
\tstorage file_system ${dir}/data
}
http://127.0.0.1:${port} {
${site}
}
`;
  writeFileSync(join(dir, 'Caddyfile'), caddyfile);
  let out = '';
  const proc = await run('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], port, () => out, (d) => { out = (out + d).slice(-8000); },
    // Caddy keeps its state under XDG/HOME directories: this instance's own.
    { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir });
  return { url: `http://127.0.0.1:${port}`, port, output: () => out, stop: stopper(proc) };
}
