import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { newKey } from '../helpers/keys.ts';
import { freePort } from '../helpers/ports.ts';
import { startServe } from '../helpers/cli.ts';

const key = newKey();
let up: TestUpstream;
beforeAll(async () => { up = await startUpstream(); });
afterAll(async () => up?.close());

// Issue 12: access lines wait in a batch buffer for up to 100 ms. A SIGTERM right after the
// last request must still write every one of them, whole and in order.
describe('access log on SIGTERM (child process)', () => {
  it('writes the line of every request answered before the signal, none cut or interleaved', async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const file = join(mkdtempSync(join(tmpdir(), 'keygate-log-')), 'keygate.yaml');
    writeFileSync(file, `
server: { port: ${port}, host: 127.0.0.1, drainTimeout: 5s }
admin: { port: ${adminPort}, host: 127.0.0.1 }
# 100 refused keys from one address: the refused-credential limit (docs/limits.md) would answer
# 429 past its burst; this test is about the log lines, so it is off.
limiter: { refusedCredentials: { rate: "0" } }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET], upstream: app, action: application:view }
principals:
  - { name: ci-bot, kind: service, roles: [viewer], keys: [{ id: ci-bot-1, hash: "${key.hash}" }] }
`);
    const proc = await startServe(file);
    try {
      const ids: string[] = [];
      for (let batch = 0; batch < 20; batch++) {
        await Promise.all(Array.from({ length: 25 }, async (_, j) => {
          const id = `sigterm-${batch}-${j}`;
          ids.push(id);
          const auth = j % 5 === 0 ? 'Bearer wrong' : `Bearer ${key.secret}`;
          const r = await request(`http://127.0.0.1:${port}/api/applications/1/x`, { headers: { authorization: auth, 'x-request-id': id } });
          await r.body.dump();
        }));
      }
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      const lines = proc.output().split('\n').filter((l) => l !== '');
      const parsed = lines.map((l) => JSON.parse(l) as { msg: string; reqId?: string; status?: number });
      const logged = parsed.filter((l) => l.msg === 'request').map((l) => l.reqId);
      expect([...logged].sort()).toEqual([...ids].sort());
      expect(parsed.filter((l) => l.msg === 'request' && l.status === 401)).toHaveLength(100);
      // The lifecycle lines come after the access lines they follow.
      expect(parsed.at(-1)?.msg).toBe('keygate stopped');
    } finally {
      await proc.stop();
    }
  }, 60_000);
});
