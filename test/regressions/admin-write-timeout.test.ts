import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startRelay } from '../helpers/relay.ts';
import { adminApi } from '../helpers/admin.ts';
import { stall } from '../helpers/store-faults.ts';

/**
 * Issue 10, item 14: an admin write whose Redis reply came after the command timeout was
 * answered 503 "nothing was changed" although it had been applied. Now keygate reads the
 * record back before answering: applied → the normal success answer; not applied → 503
 * `store_unavailable`; no answer to the read-back either → 503 `outcome_unknown` with the
 * record to look up.
 */
const TOKEN = 'admin-token-for-admin-write-timeout';
let redis: TestRedis;
let up: TestUpstream;

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
});
afterAll(async () => {
  redis?.resume();
  await up?.close();
  await redis?.stop();
});

function yaml(url: string): string {
  return `
admin: { token: "${TOKEN}" }
store: { redis: "${url}" }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
`;
}

/**
 * One write of each kind first, so Redis has the scripts cached: on a fresh Redis the stalled
 * EVALSHA would be refused (NOSCRIPT) when it finally runs, and "nothing was changed" be true.
 */
async function warmUp(call: ReturnType<typeof adminApi>, name: string): Promise<void> {
  expect((await call('POST', '/v1/principals', { name, kind: 'service' })).status).toBe(201);
  expect((await call('POST', '/v1/keys', { principal: name })).status).toBe(201);
}

/** GET until the store answers again (delayed replies still queued in the relay drain first). */
async function getAfter(call: ReturnType<typeof adminApi>, path: string) {
  const deadline = Date.now() + 8000;
  for (;;) {
    const r = await call<{ name: string }>('GET', path);
    if (r.status !== 503 || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
}

type ErrorBody = { error: { code: string; message: string; resource?: { type: string; id: string } } };

describe('an admin write whose reply comes after the command timeout', () => {
  it('applied during a stall: answered as the success it was, once', { timeout: 30_000 }, async () => {
    const gw = await startTestGateway(yaml(redis.url));
    try {
      const call = adminApi(gw.adminUrl, TOKEN);
      await warmUp(call, 'warm-up-1');
      let created: { status: number; body: { id: string; name: string } } | undefined;
      await stall('debug-sleep', 2500, redis, undefined, async () => {
        created = await call<{ id: string; name: string }>('POST', '/v1/principals', { name: 'written-in-a-stall', kind: 'service', roles: ['viewer'] });
      });
      expect(created).toMatchObject({ status: 201 });
      const list = await call<{ items: { name: string; id: string }[] }>('GET', '/v1/principals');
      expect(list.body.items.filter((p) => p.name === 'written-in-a-stall').map((p) => p.id)).toEqual([created?.body.id]);

    } finally {
      await gw.close();
    }
  });

  it('when even the read-back gets no answer in time: outcome_unknown, with the record to check', { timeout: 30_000 }, async () => {
    const relay = await startRelay(redis.port);
    const gw = await startTestGateway(yaml(relay.url));
    try {
      const call = adminApi(gw.adminUrl, TOKEN);
      await warmUp(call, 'warm-up-2');
      // Every reply takes 1.5 s: past the 1 s command timeout, for the write and each read-back.
      relay.set({ kind: 'delay', ms: 1500 });
      const r = await call<ErrorBody>('POST', '/v1/principals', { name: 'maybe-written', kind: 'service' });
      relay.set({ kind: 'pass' });
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('outcome_unknown');
      expect(r.body.error.message).not.toMatch(/nothing was changed/i);
      expect(r.body.error.resource?.type).toBe('principal');
      // It had been applied: "nothing was changed" would have been false.
      const id = r.body.error.resource?.id ?? '';
      const found = await getAfter(call, `/v1/principals/${id}`);
      expect([found.status, found.body.name]).toEqual([200, 'maybe-written']);
    } finally {
      relay.set({ kind: 'pass' });
      await gw.close();
      await relay.close();
    }
  });

  /**
   * SIGSTOP: Redis freezes with its connections open, the write sits unread in its socket buffer
   * and runs on SIGCONT. Whatever keygate answered must be true once Redis is back: 201 → there
   * once; `outcome_unknown` → names the record; `store_unavailable` → it is not there. Several
   * stall lengths, around the 1 s command timeout and past the read-back window (the write times
   * out at 1 s, then up to 3 read-backs of 1 s + 250 ms: about 4.75 s in all).
   */
  for (const [run, ms] of [[1, 1500], [2, 1500], [3, 1500], [4, 2500], [5, 4500], [6, 6500]] as const) {
    it(`SIGSTOP for ${ms} ms during a principal create: the answer is true afterwards (run ${run})`, { timeout: 30_000 }, async () => {
      const gw = await startTestGateway(yaml(redis.url));
      const name = `created-in-sigstop-${run}`;
      try {
        const call = adminApi(gw.adminUrl, TOKEN);
        await warmUp(call, `warm-up-sigstop-${run}`);
        // The POST is not awaited inside the stall: SIGCONT comes after `ms` whether or not it
        // has been answered by then, so the read-back may find Redis running again.
        let pending: Promise<{ status: number; body: ErrorBody & { id: string } }> | undefined;
        await stall('sigstop', ms, redis, undefined, async () => {
          pending = call<ErrorBody & { id: string }>('POST', '/v1/principals', { name, kind: 'service' });
          pending.catch(() => {});
        });
        if (pending === undefined) throw new Error('no request');
        const r = await pending;
        // Redis is back: let replies still queued drain, then look several times.
        const seen: string[][] = [];
        for (let i = 0; i < 3; i++) {
          const list = await getAfter(call, '/v1/principals') as unknown as { status: number; body: { items: { name: string; id: string }[] } };
          expect(list.status).toBe(200);
          seen.push(list.body.items.filter((p) => p.name === name).map((p) => p.id));
          await new Promise((res) => setTimeout(res, 300));
        }
        const outcome = r.status === 201 ? 'created' : r.body.error?.code;
        console.log(`sigstop ${ms} ms: ${r.status} ${outcome}; afterwards ${JSON.stringify(seen)}`);
        if (r.status === 201) {
          for (const ids of seen) expect(ids).toEqual([r.body.id]);
        } else {
          expect(r.status).toBe(503);
          if (r.body.error.code === 'outcome_unknown') {
            expect(r.body.error.resource?.type).toBe('principal');
            expect(r.body.error.resource?.id).toMatch(/^p_/);
            for (const ids of seen) expect(ids.every((id) => id === r.body.error.resource?.id)).toBe(true);
          } else {
            expect(r.body.error.code).toBe('store_unavailable');
            // "Nothing was changed" must be true.
            for (const ids of seen) expect(ids).toEqual([]);
          }
        }
      } finally {
        redis.resume();
        await gw.close();
      }
    });
  }

  it('never sent (Redis gone): store_unavailable, and nothing was changed indeed', { timeout: 30_000 }, async () => {
    const gw = await startTestGateway(yaml(redis.url));
    try {
      const call = adminApi(gw.adminUrl, TOKEN);
      await redis.stop();
      const r = await call<ErrorBody>('POST', '/v1/principals', { name: 'never-written', kind: 'service' });
      expect([r.status, r.body.error.code]).toEqual([503, 'store_unavailable']);
      await redis.restart();
      const deadline = Date.now() + 5000;
      let found = await call('GET', '/v1/principals/never-written');
      while (found.status === 503 && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 100));
        found = await call('GET', '/v1/principals/never-written');
      }
      expect(found.status).toBe(404);
    } finally {
      await gw.close();
    }
  });
});
