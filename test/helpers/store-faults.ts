import { request } from 'undici';
import type { TestRedis } from './redis.ts';
import type { TestRelay } from './relay.ts';

/** The ways a Redis can stop answering while keeping its connections open. */
export type StallKind = 'debug-sleep' | 'sigstop' | 'relay-delay' | 'relay-blackhole';

/**
 * Stalls `redis` for `ms` (the relay kinds need the gateway to connect through `relay`) and
 * resolves once it answers again. Always ends the stall, even when the caller's test fails
 * meanwhile: SIGCONT and the relay reset run in a `finally`.
 */
export async function stall(kind: StallKind, ms: number, redis: TestRedis, relay?: TestRelay, during?: () => Promise<void>): Promise<void> {
  const needRelay = (): TestRelay => {
    if (relay === undefined) throw new Error(`${kind} needs a relay`);
    return relay;
  };
  let sleeping: Promise<unknown> = Promise.resolve();
  try {
    switch (kind) {
      // Blocks the whole server (every client) for `ms`, as a slow Lua script or a big KEYS would.
      case 'debug-sleep': {
        sleeping = redis.send(['DEBUG', 'SLEEP', String(ms / 1000)], ms + 5000).catch(() => {});
        // DEBUG SLEEP is only sent here: until a PING goes unanswered, the server may not have
        // started sleeping, and a request made in `during` could still be served (a flaky 200).
        for (let i = 0; i < 50; i++) {
          if (!(await redis.send(['PING'], 100).then(() => true, () => false))) break;
        }
        break;
      }
      case 'sigstop': redis.pause(); break;
      // Every reply takes longer than keygate's command timeout (1 s).
      case 'relay-delay': needRelay().set({ kind: 'delay', ms: 1500 }); break;
      case 'relay-blackhole': needRelay().set({ kind: 'blackhole' }); break;
    }
    const started = Date.now();
    await during?.();
    const left = ms - (Date.now() - started);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
  } finally {
    if (kind === 'sigstop') redis.resume();
    if (kind === 'relay-delay' || kind === 'relay-blackhole') relay?.set({ kind: 'pass' });
    await sleeping;
  }
}

/** Polls `check` every 50 ms; resolves with the ms it took, rejects after `timeoutMs`. */
export async function within(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** /readyz status and the value of keygate_keystore_up, as an operator's probes see them. */
export async function health(adminUrl: string): Promise<{ ready: number; up: number | null }> {
  const r = await request(`${adminUrl}/readyz`);
  await r.body.dump();
  const m = await request(`${adminUrl}/metrics`);
  const text = await m.body.text();
  const line = /^keygate_keystore_up (\S+)$/m.exec(text);
  return { ready: r.statusCode, up: line?.[1] === undefined ? null : Number(line[1]) };
}
