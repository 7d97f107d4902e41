import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';

export interface TestRedis {
  url: string;
  port: number;
  /** Stops the server (SIGTERM, SIGKILL after 2 s). Idempotent. */
  stop(): Promise<void>;
  /** Stops it if running, then starts an empty server on the same port. */
  restart(): Promise<void>;
  /** SIGKILL: the server vanishes without closing anything gracefully. */
  kill(): Promise<void>;
  /** `total_commands_processed` (the INFO call asking for it is not counted yet). */
  commandCount(): Promise<number>;
  /** One command over a fresh connection (e.g. `DEBUG SLEEP 3`, which blocks the whole server). */
  send(args: string[], timeoutMs?: number): Promise<string>;
  /**
   * SIGSTOP: the server freezes with every connection open (a VM pause, a fork gone wrong). The
   * caller must `resume()` in a `finally`.
   */
  pause(): void;
  /** SIGCONT after `pause()`. Idempotent. */
  resume(): void;
}

const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

/** Every server still running, killed when the test process exits however it exits. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** One RESP command over a fresh socket: enough for PING and INFO without a client library. */
function command(port: number, args: string[], timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    let buf = Buffer.alloc(0);
    const done = (err: Error | null, v?: string) => {
      sock.destroy();
      if (err) reject(err);
      else resolve(v ?? '');
    };
    sock.setTimeout(timeoutMs, () => done(new Error('redis command timed out')));
    sock.on('error', (e) => done(e));
    sock.on('connect', () => sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf('\r\n');
      if (nl === -1) return;
      const head = buf.toString('latin1', 0, nl);
      if (head.startsWith('+')) done(null, head.slice(1));
      else if (head.startsWith('-')) done(new Error(head.slice(1)));
      else if (head.startsWith('$')) {
        const len = Number(head.slice(1));
        if (buf.length >= nl + 2 + len + 2) done(null, buf.toString('utf8', nl + 2, nl + 2 + len));
      } else done(new Error(`unexpected reply ${head}`));
    });
  });
}

async function untilAnswers(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`redis-server exited at start:\n${log()}`);
    try {
      if ((await command(port, ['PING'], 200)) === 'PONG') return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`redis-server did not answer PING within 5 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function spawnOn(port: number, dir: string): Promise<ChildProcess> {
  // An append-only file in the instance's own directory: a restart (SIGTERM, then start again on
  // the same port) finds its data again, as a production Redis would.
  const proc = spawn(
    REDIS_SERVER,
    // DEBUG SLEEP stalls the server for the fault tests; only loopback clients may use DEBUG.
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir, '--enable-debug-command', 'local'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString('utf8')).slice(-4000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  try {
    await untilAnswers(port, proc, () => out);
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  return proc;
}

async function end(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill(signal);
  proc.kill('SIGCONT'); // a paused server acts on the signal only once it runs again
  const forced = setTimeout(() => proc.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(forced);
}

/**
 * A real `redis-server` on a free loopback port, starting empty, persisting to its own temp
 * directory so that `restart()` keeps the data. The port is found by binding port 0 first; if
 * another process takes it in between, we try again.
 */
export async function startRedis(): Promise<TestRedis> {
  let port = 0;
  let proc: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'keygate-redis-'));
  for (let attempt = 1; proc === undefined; attempt++) {
    port = await freePort();
    try {
      proc = await spawnOn(port, dir);
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
  let current: ChildProcess = proc;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => end(current, 'SIGTERM'),
    kill: () => end(current, 'SIGKILL'),
    async restart() {
      await end(current, 'SIGTERM');
      current = await spawnOn(port, dir);
    },
    send: (args, timeoutMs) => command(port, args, timeoutMs),
    pause: () => void current.kill('SIGSTOP'),
    resume: () => void current.kill('SIGCONT'),
    async commandCount() {
      const info = await command(port, ['INFO', 'stats']);
      const m = /total_commands_processed:(\d+)/.exec(info);
      if (m?.[1] === undefined) throw new Error('INFO stats without total_commands_processed');
      return Number(m[1]);
    },
  };
}
