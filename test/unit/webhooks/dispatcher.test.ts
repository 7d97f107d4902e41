/** The dispatcher against a real receiver on loopback, with the in-process queue. */
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../../src/events/bus.ts';
import { createWebhookDispatcher } from '../../../src/webhooks/dispatcher.ts';
import { createMemoryDeliveries } from '../../../src/webhooks/memory-deliveries.ts';
import type { WebhookConfig } from '../../../src/config/types.ts';
import { startReceiver, type TestReceiver } from '../../helpers/webhook-receiver.ts';

const SECRET = 'whsec_dispatch_0123456789abcdef';
let receiver: TestReceiver | null = null;
afterEach(async () => {
  receiver?.stall(false);
  await receiver?.close();
  receiver = null;
});

function hook(url: string, over: Partial<WebhookConfig> = {}): WebhookConfig {
  return { name: 'r', url: new URL(url), secret: SECRET, events: new Set(['principal.disabled']), timeoutMs: 5_000, maxAttempts: 3, backoffMs: 10, maxBackoffMs: 20, ...over };
}
const quiet = { info() {}, warn() {} };
const emitDisabled = (bus: ReturnType<typeof createEventBus>, n: number) => {
  for (let i = 0; i < n; i++) bus.emit('principal.disabled', { principalId: `p${i}`, name: `n${i}`, by: 'admin-token' });
};

describe('webhook dispatcher', () => {
  it('drops and counts what the bounded queue refuses while a stalled receiver holds the rest; emit stays synchronous', async () => {
    receiver = await startReceiver(SECRET);
    receiver.stall(true);
    const bus = createEventBus();
    const drops: [string, number][] = [];
    const store = createMemoryDeliveries({ maxPending: 2, maxLog: 100 });
    const d = createWebhookDispatcher({ webhooks: () => [hook(receiver!.url)], store, bus, userAgent: 'keygate/test', logger: quiet, onDrop: (r, n) => drops.push([r, n]) });
    emitDisabled(bus, 5);
    await d.drain();
    expect(drops).toEqual([['queue_full', 3]]);
    await receiver.waitHeld();
    expect(await store.pending()).toBe(2);
    // Shutdown does not wait for the stalled receiver: the attempts are aborted and settled as retries.
    await d.close();
    expect((await store.list({ limit: 10 })).map((r) => [r.status, r.lastError])).toEqual([
      ['pending', 'keygate is shutting down'], ['pending', 'keygate is shutting down'],
    ]);
  });

  it('the in-process outbox itself is bounded too', async () => {
    receiver = await startReceiver(SECRET);
    const bus = createEventBus();
    const drops: [string, number][] = [];
    const d = createWebhookDispatcher({ webhooks: () => [hook(receiver!.url)], store: createMemoryDeliveries({ maxPending: 100, maxLog: 100 }), bus, userAgent: 'keygate/test', logger: quiet, outboxSize: 3, onDrop: (r, n) => drops.push([r, n]) });
    emitDisabled(bus, 5); // synchronously: nothing has moved to the store yet
    expect(drops).toEqual([['queue_full', 1], ['queue_full', 1]]);
    await receiver.waitFor(3);
    await d.close();
  });

  it('a receiver removed from the config fails its owed deliveries instead of retrying forever', async () => {
    receiver = await startReceiver(SECRET);
    receiver.respond = () => 500;
    let hooks = [hook(receiver.url, { backoffMs: 60_000, maxBackoffMs: 60_000 })];
    const bus = createEventBus();
    const store = createMemoryDeliveries({ maxPending: 100, maxLog: 100 });
    const results: string[] = [];
    const d = createWebhookDispatcher({ webhooks: () => hooks, store, bus, userAgent: 'keygate/test', logger: quiet, onResult: (_w, r) => results.push(r), random: () => 0 });
    emitDisabled(bus, 1);
    await receiver.waitFor(1);
    for (let i = 0; i < 100 && results.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(results).toEqual(['retried']);
    hooks = [hook(receiver.url, { name: 'other' })];
    // The retry is due in 6 s (a tenth of the 60 s backoff at least); claim it early by hand.
    const [owed] = await store.claim(new Date(Date.now() + 7_000), 1, 1_000);
    expect(owed?.record.webhook).toBe('r');
    await store.settle(owed!.record.id, { outcome: 'retry', at: new Date(), nextAt: new Date(), lastStatus: 500, lastError: 'HTTP 500' });
    await d.drain();
    for (let i = 0; i < 100 && results.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(results).toEqual(['retried', 'failed']);
    expect((await store.list({ limit: 1 }))[0]).toMatchObject({ status: 'failed', lastError: 'webhook no longer configured' });
    await d.close();
  });
});
