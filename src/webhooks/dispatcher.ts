import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import type { WebhookConfig } from '../config/types.ts';
import type { EventBus } from '../events/bus.ts';
import type { KeygateEvent } from '../events/types.ts';
import { retryDelayMs } from './backoff.ts';
import type { DeliveryStore, QueuedDelivery, Settlement } from './deliveries.ts';
import { SIGNATURE_HEADER, signatureHeader } from './sign.ts';

export type DeliveryResult = 'delivered' | 'retried' | 'failed';
export type DropReason = 'queue_full' | 'store_error';

export interface DispatcherOptions {
  /** The receivers of the generation in force (a reload changes them; secrets are looked up per attempt). */
  webhooks: () => readonly WebhookConfig[];
  store: DeliveryStore;
  bus: EventBus;
  userAgent: string;
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void };
  onResult?: (webhook: string, result: DeliveryResult) => void;
  onDrop?: (reason: DropReason, n: number) => void;
  /** Events waiting in process to reach the delivery store; beyond it they are dropped and counted. @default 10_000 */
  outboxSize?: number;
  /** How often each replica looks for due deliveries. @default 500 */
  pollMs?: number;
  /** Deliveries in flight per replica. @default 8 */
  concurrency?: number;
  now?: () => Date;
  random?: () => number;
}

export interface WebhookDispatcher {
  /** Moves the outbox to the store and delivers what is due now (tests, shutdown). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Error text for the log: the status, or the socket error, never the URL's credentials, path (a capability URL's secret) or query. */
function describe(e: unknown, url: URL): string {
  const msg = e instanceof Error ? (e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message) : String(e);
  let out = msg.split(url.href).join(url.origin);
  if (url.pathname !== '/') out = out.split(url.pathname).join('/…');
  return out.slice(0, 300);
}

/**
 * Delivers events to webhooks off the request path. `emit` only appends to a bounded in-process
 * outbox (a Map push); a timer moves the outbox into the delivery store (Redis or in process) and
 * workers claim due deliveries from it, POST them signed, and settle them: delivered on 2xx,
 * else retried with jittered exponential backoff until `maxAttempts`. A stalled receiver holds
 * one worker slot for at most its `timeout`; the request that caused the event never waits.
 */
export function createWebhookDispatcher(opts: DispatcherOptions): WebhookDispatcher {
  const now = opts.now ?? (() => new Date());
  const outboxSize = opts.outboxSize ?? 10_000;
  const concurrency = opts.concurrency ?? 8;
  const pollMs = opts.pollMs ?? 500;
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 4_000 });
  let outbox: QueuedDelivery[] = [];
  let inFlight = 0;
  let closed = false;
  let storeFailing = false;
  const aborts = new Set<AbortController>();
  const running = new Set<Promise<void>>();
  const drop = (reason: DropReason, n: number) => { try { opts.onDrop?.(reason, n); } catch { /* counting never fails delivery */ } };

  const unsubscribe = opts.bus.subscribe((event: KeygateEvent) => {
    const targets = opts.webhooks().filter((w) => w.events.has(event.type));
    if (targets.length === 0) return;
    const body = JSON.stringify(event);
    const at = now().toISOString();
    for (const w of targets) {
      if (outbox.length >= outboxSize) { drop('queue_full', 1); continue; }
      outbox.push({
        body,
        record: {
          id: `dlv_${randomUUID()}`, webhook: w.name, eventId: event.id, eventType: event.type, status: 'pending', attempts: 0,
          createdAt: at, updatedAt: at, nextAttemptAt: at, lastStatus: null, lastError: null,
        },
      });
    }
    kick();
  });

  let scheduled = false;
  /** Soon, not now: the emitting request finishes before any store write starts. */
  function kick(): void {
    if (scheduled || closed) return;
    scheduled = true;
    setImmediate(() => { scheduled = false; void pump(); });
  }

  async function moveOutbox(): Promise<void> {
    if (outbox.length === 0) return;
    const batch = outbox;
    outbox = [];
    try {
      const refused = await opts.store.enqueue(batch, now());
      if (refused > 0) drop('queue_full', refused);
      if (storeFailing) { storeFailing = false; opts.logger.info({}, 'webhook deliveries are being queued again'); }
    } catch (e) {
      // Keep them for the next round, within the outbox bound: a Redis blip loses nothing.
      const room = Math.max(0, outboxSize - outbox.length);
      outbox = [...batch.slice(0, room), ...outbox];
      if (batch.length > room) drop('store_error', batch.length - room);
      if (!storeFailing) { storeFailing = true; opts.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'cannot queue webhook deliveries; keeping them in memory (bounded)'); }
    }
  }

  let pumping: Promise<void> | null = null;
  let again = false;
  function pump(): Promise<void> {
    if (pumping !== null) { again = true; return pumping; }
    pumping = (async () => {
      try {
        await moveOutbox();
        const free = concurrency - inFlight;
        // No receivers configured: no claim either, so an idle feature costs Redis nothing.
        if (free <= 0 || closed || opts.webhooks().length === 0) return;
        const leaseMs = Math.max(...opts.webhooks().map((w) => w.timeoutMs), 1_000) + 5_000;
        let due: QueuedDelivery[];
        try { due = await opts.store.claim(now(), free, leaseMs); } catch { return; } // the next poll tries again
        for (const d of due) {
          const p = attempt(d).finally(() => running.delete(p));
          running.add(p);
        }
      } finally {
        pumping = null;
        if (again) { again = false; kick(); }
      }
    })();
    return pumping;
  }

  async function attempt(d: QueuedDelivery): Promise<void> {
    inFlight++;
    const { record } = d;
    const w = opts.webhooks().find((x) => x.name === record.webhook);
    let s: Settlement;
    let status: number | null = null;
    if (w === undefined) {
      s = { outcome: 'failed', at: now(), lastStatus: null, lastError: 'webhook no longer configured' };
    } else {
      const ac = new AbortController();
      aborts.add(ac);
      const timer = setTimeout(() => ac.abort(new Error(`no answer within ${w.timeoutMs} ms`)), w.timeoutMs);
      let error: string;
      try {
        const res = await request(w.url, {
          method: 'POST', dispatcher: agent, signal: ac.signal, headersTimeout: w.timeoutMs, bodyTimeout: w.timeoutMs,
          headers: {
            'content-type': 'application/json', 'user-agent': opts.userAgent,
            [SIGNATURE_HEADER]: signatureHeader(w.secret, d.body, now().getTime()),
            'keygate-event-id': record.eventId, 'keygate-event-type': record.eventType,
            'keygate-delivery-id': record.id, 'keygate-delivery-attempt': String(record.attempts),
          },
          body: d.body,
        });
        status = res.statusCode;
        await res.body.dump({ limit: 64 * 1024 }).catch(() => {});
        error = `HTTP ${status}`;
      } catch (e) {
        error = describe(ac.signal.aborted ? ac.signal.reason : e, w.url);
      } finally {
        clearTimeout(timer);
        aborts.delete(ac);
      }
      const at = now();
      if (status !== null && status >= 200 && status < 300) s = { outcome: 'delivered', at, lastStatus: status };
      else if (record.attempts >= w.maxAttempts) s = { outcome: 'failed', at, lastStatus: status, lastError: error };
      else s = { outcome: 'retry', at, nextAt: new Date(at.getTime() + retryDelayMs(record.attempts, w.backoffMs, w.maxBackoffMs, opts.random)), lastStatus: status, lastError: error };
    }
    try {
      await opts.store.settle(record.id, s);
    } catch (e) {
      // The lease runs out and the delivery is tried again: at least once, maybe twice.
      opts.logger.warn({ err: e instanceof Error ? e.message : String(e), delivery: record.id }, 'could not record a webhook delivery attempt');
    }
    try { opts.onResult?.(record.webhook, s.outcome === 'retry' ? 'retried' : s.outcome); } catch { /* counting only */ }
    if (s.outcome === 'failed') opts.logger.warn({ webhook: record.webhook, delivery: record.id, eventId: record.eventId, attempts: record.attempts, error: s.lastError }, 'webhook delivery failed for good');
    inFlight--;
    if (!closed) kick();
  }

  const timer = setInterval(() => void pump(), pollMs);
  timer.unref();

  return {
    async drain() {
      await pump();
    },
    async close() {
      unsubscribe();
      clearInterval(timer);
      await pumping;
      closed = true;
      await moveOutbox(); // queued events reach Redis (and another replica) before we go
      for (const ac of aborts) ac.abort(new Error('keygate is shutting down'));
      await Promise.allSettled([...running]); // aborted attempts are settled as retries first
      await agent.close().catch(() => {});
      await opts.store.close();
    },
  };
}
