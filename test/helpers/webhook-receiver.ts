import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The verification docs/webhooks.md documents, written out here rather than imported from
 * src/webhooks/sign.ts: the test checks what a receiver following the docs would do.
 */
export function referenceVerify(header: string | undefined, rawBody: string, secret: string, nowS: number, toleranceS = 300): 'ok' | 'malformed' | 'mismatch' | 'too_old' {
  if (header === undefined) return 'malformed';
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts['t']);
  const v1 = parts['v1'];
  if (!Number.isInteger(t) || v1 === undefined || !/^[0-9a-f]{64}$/.test(v1)) return 'malformed';
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  if (!timingSafeEqual(expected, Buffer.from(v1, 'hex'))) return 'mismatch';
  if (Math.abs(nowS - t) > toleranceS) return 'too_old';
  return 'ok';
}

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  verdict: ReturnType<typeof referenceVerify>;
  event: { id: string; type: string; at: string; data: Record<string, unknown> };
}

export interface TestReceiver {
  url: string;
  received: Received[];
  /** The status for a verified delivery; 200 when absent or it returns undefined. */
  respond: ((r: Received) => number | undefined) | null;
  /** While set, requests are held unanswered (a stalled receiver); `release()` answers them. */
  stall(on: boolean): void;
  /** Requests currently held by a stall. */
  held(): number;
  /** Resolves once `n` requests in all have arrived (verified or not). */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  /** Resolves once a request is being held. */
  waitHeld(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A real webhook receiver on a loopback port that verifies each delivery with the documented algorithm. */
export async function startReceiver(secret: string): Promise<TestReceiver> {
  const received: Received[] = [];
  const held: ServerResponse[] = [];
  let stalled = false;
  const waiters: (() => void)[] = [];
  const notify = () => { for (const w of [...waiters]) w(); };
  const recv: Partial<TestReceiver> = { received, respond: null };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = req.headers['keygate-signature'];
      const verdict = referenceVerify(typeof header === 'string' ? header : undefined, body, secret, Math.floor(Date.now() / 1000));
      let event: Received['event'];
      try { event = JSON.parse(body) as Received['event']; } catch { event = { id: '', type: '', at: '', data: {} }; }
      received.push({ headers: req.headers, body, verdict, event });
      if (stalled) { held.push(res); notify(); return; }
      const status = verdict === 'ok' ? (recv.respond?.(received[received.length - 1] as Received) ?? 200) : 400;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(verdict);
      notify();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const until = (ok: () => boolean, timeoutMs: number, what: string) => new Promise<void>((resolve, reject) => {
    const check = () => { if (ok()) { done(); resolve(); } };
    const timer = setTimeout(() => { done(); reject(new Error(`receiver: timed out waiting for ${what} (got ${received.length}: ${received.map((r) => r.event.type).join(', ')})`)); }, timeoutMs);
    const done = () => { clearTimeout(timer); waiters.splice(waiters.indexOf(check), 1); };
    waiters.push(check);
    check();
  });
  return Object.assign(recv, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/keygate`,
    stall(on: boolean) {
      stalled = on;
      if (!on) for (const res of held.splice(0)) res.writeHead(200).end('late');
    },
    held: () => held.length,
    waitFor: async (n: number, timeoutMs = 15_000) => { await until(() => received.length >= n, timeoutMs, `${n} deliveries`); return received; },
    waitHeld: (timeoutMs = 15_000) => until(() => held.length > 0, timeoutMs, 'a held delivery'),
    async close() {
      for (const res of held.splice(0)) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  }) as TestReceiver;
}
