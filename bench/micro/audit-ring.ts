/**
 * The embedded audit ring, before and after issue 12: an object per event against columns.
 * CPU per request event (building it with requestEvent, as the trail does, and writing it into
 * a full 100k ring, so the GC cost of what the ring holds is counted), then the heap each ring
 * holds when full. `node --expose-gc bench/micro/audit-ring.ts`
 */
import type { RequestContext } from '../../src/context.ts';
import { requestEvent } from '../../src/audit/event.ts';
import { MemoryAuditSink } from '../../src/audit/memory-sink.ts';
import { ObjectAuditSink } from './object-ring.ts';
import { compare } from './interleave.ts';

const CAP = 100_000;
let n = 0;
const ctx = () => ({
  id: `6f1c2a9e-4b7d-4e2a-9c1f-${String(n++).padStart(12, '0')}`, start: process.hrtime.bigint(), path: `/api/applications/${n % 500}/items`,
  errorCode: null, forwarded: true, authNs: 4_000n, gen: { config: { keys: { prefix: 'kg_' }, tokens: { enabled: false } } },
  req: { method: 'GET', socket: { remoteAddress: `10.0.0.${n % 50}` } }, match: { route: { name: 'app-read' } },
  principal: { id: `p_${n % 1000}`, name: `svc-${n % 1000}` }, key: { id: `k_${n % 10_000}` }, credential: { style: 'bearer' },
}) as unknown as RequestContext;
const ctxs = Array.from({ length: 4096 }, ctx);

const oldRing = new ObjectAuditSink(CAP);
const newRing = new MemoryAuditSink(CAP);
await compare('audit request event into a full 100k ring', [
  { name: 'object per event (landed)', run(k) { for (let i = 0; i < k; i++) oldRing.write(requestEvent(ctxs[i & 4095] as RequestContext, 200) as never); } },
  { name: 'columns', run(k) { for (let i = 0; i < k; i++) newRing.write(requestEvent(ctxs[i & 4095] as RequestContext, 200) as never); } },
], { n: 300_000, rounds: Number(process.env['ROUNDS'] ?? 8) });

const gc = (globalThis as { gc?: () => void }).gc;
if (gc !== undefined) {
  const heap = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
  const fill = (make: () => { write(e: never): void }) => {
    const before = heap();
    const ring = make();
    for (let i = 0; i < CAP; i++) ring.write(requestEvent(ctx(), 200) as never);
    const held = heap() - before;
    return { ring, held };
  };
  const a = fill(() => new ObjectAuditSink(CAP));
  const b = fill(() => new MemoryAuditSink(CAP));
  process.stdout.write(`heap held by a full ${CAP} ring: object per event ${(a.held / 2 ** 20).toFixed(1)} MiB, columns ${(b.held / 2 ** 20).toFixed(1)} MiB (typed arrays: ${(process.memoryUsage().arrayBuffers / 2 ** 20).toFixed(1)} MiB outside the heap)\n`);
  void [a.ring, b.ring];
}
