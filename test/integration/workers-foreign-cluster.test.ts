/**
 * keygate run as a worker of another cluster primary (pm2's cluster mode): it is an ordinary
 * single process — its own admin listener, no IPC expected — and refuses `server.workers` > 1,
 * which it could not fork from there, instead of failing in an obscure way.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { freePort } from '../helpers/ports.ts';
import { startRedis } from '../helpers/redis.ts';

const FOREIGN = fileURLToPath(new URL('../helpers/foreign-cluster.ts', import.meta.url));

function run(file: string, untilListening: boolean): Promise<{ out: string; stop: () => Promise<string> }> {
  // The V8-flags re-exec is not what this test is about (KEYGATE_NODE_FLAGS=off).
  const child = spawn(process.execPath, [FOREIGN, file], { env: { ...process.env, KEYGATE_NODE_FLAGS: 'off' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`timed out:\n${out}`)); }, 60_000);
    const stop = async () => { child.kill('SIGTERM'); await closed; return out; };
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if ((untilListening && out.includes('"msg":"keygate listening"')) || out.includes('foreign-primary: worker exited')) {
        clearTimeout(timer);
        resolve({ out, stop });
      }
    });
  });
}

describe('keygate under another cluster primary', () => {
  it('workers: 1 serves as a single process, admin listener included', async () => {
    const adminPort = await freePort();
    const f = join(mkdtempSync(join(tmpdir(), 'keygate-foreign-')), 'keygate.yaml');
    writeFileSync(f, `server: { port: 0, host: 127.0.0.1 }\nadmin: { port: ${adminPort}, host: 127.0.0.1 }\nupstreams: { app: { url: "http://127.0.0.1:1" } }\nroutes:\n  - { name: pub, path: "/pub/*", upstream: app, public: true }\n`);
    const r = await run(f, true);
    const ready = await request(`http://127.0.0.1:${adminPort}/readyz`);
    expect(ready.statusCode).toBe(200);
    await ready.body.dump();
    expect(await r.stop()).toContain('foreign-primary: worker exited 0');
  }, 70_000);

  it('workers: 2 is refused with a reason, exit 1', async () => {
    const redis = await startRedis();
    try {
      const f = join(mkdtempSync(join(tmpdir(), 'keygate-foreign-')), 'keygate.yaml');
      writeFileSync(f, `server: { port: 0, host: 127.0.0.1, workers: 2 }\nadmin: { port: 0, host: 127.0.0.1 }\nstore: { redis: "${redis.url}" }\nupstreams: { app: { url: "http://127.0.0.1:1" } }\nroutes:\n  - { name: pub, path: "/pub/*", upstream: app, public: true }\n`);
      const r = await run(f, false);
      expect(r.out).toContain('server.workers > 1 inside another cluster manager');
      expect(r.out).toContain('foreign-primary: worker exited 1');
    } finally {
      await redis.stop();
    }
  }, 70_000);
});
