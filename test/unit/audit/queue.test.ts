import { describe, expect, it } from 'vitest';
import { createBatchQueue, type DropReason } from '../../../src/audit/queue.ts';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

function recorder() {
  const drops: { count: number; reason: DropReason }[] = [];
  return { drops, onDrop: (count: number, reason: DropReason) => void drops.push({ count, reason }), dropped: () => drops.reduce((n, d) => n + d.count, 0) };
}

describe('audit batch queue', () => {
  it('writes in batches of at most batchSize, in push order, as soon as a batch is full', async () => {
    const batches: number[][] = [];
    const r = recorder();
    const q = createBatchQueue<number>({ capacity: 100, batchSize: 4, flushIntervalMs: 60_000, write: async (b) => void batches.push([...b]), onDrop: r.onDrop });
    for (let i = 0; i < 3; i++) q.push(i);
    await tick(10);
    expect(batches).toEqual([]); // not full: waits for the timer
    for (let i = 3; i < 10; i++) q.push(i);
    await tick(10);
    // A full batch started a drain without the timer; the drain takes what is queued.
    expect(batches).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(r.dropped()).toBe(0);
    await q.close();
  });

  it('flushes a partial batch on the interval', async () => {
    const batches: number[][] = [];
    const q = createBatchQueue<number>({ batchSize: 100, flushIntervalMs: 20, write: async (b) => void batches.push([...b]), onDrop: () => {} });
    q.push(1);
    q.push(2);
    expect(batches).toEqual([]); // never written on the caller's stack
    await tick(80);
    expect(batches).toEqual([[1, 2]]);
    await q.close();
  });

  it('when full, drops and counts instead of blocking or growing; size never passes capacity', async () => {
    const r = recorder();
    let release: () => void = () => {};
    const stalled = new Promise<void>((res) => (release = res));
    const written: number[] = [];
    const q = createBatchQueue<number>({ capacity: 10, batchSize: 5, flushIntervalMs: 60_000, write: async (b) => { await stalled; written.push(...b); }, onDrop: r.onDrop });
    let accepted = 0;
    for (let i = 0; i < 1000; i++) {
      if (q.push(i)) accepted++;
      expect(q.size).toBeLessThanOrEqual(10);
      if (i === 6) await tick(5); // the first batch of 5 is now in flight, stalled
    }
    // 5 in flight + 10 queued were accepted; everything else was dropped and counted.
    expect(accepted).toBe(15);
    expect(r.dropped()).toBe(985);
    expect(new Set(r.drops.map((d) => d.reason))).toEqual(new Set(['queue_full']));
    release();
    await q.close();
    expect(written).toEqual(Array.from({ length: 15 }, (_, i) => i));
  });

  it('a failing sink drops the batch and counts it: no retry buffer', async () => {
    const r = recorder();
    let calls = 0;
    const q = createBatchQueue<number>({ capacity: 100, batchSize: 3, flushIntervalMs: 60_000, write: async () => { calls++; throw new Error('redis down'); }, onDrop: r.onDrop });
    for (let i = 0; i < 7; i++) q.push(i);
    await q.flush();
    expect(calls).toBe(3); // 3 + 3 + 1, each tried once
    expect(r.drops).toEqual([{ count: 3, reason: 'store_error' }, { count: 3, reason: 'store_error' }, { count: 1, reason: 'store_error' }]);
    expect(q.size).toBe(0);
    await q.close();
  });

  it('never throws into the caller: a sink throwing synchronously, a drop listener throwing', async () => {
    const q = createBatchQueue<number>({
      capacity: 1, batchSize: 10, flushIntervalMs: 60_000,
      write: () => { throw new Error('sync throw'); },
      onDrop: () => { throw new Error('listener bug'); },
    });
    expect(q.push(1)).toBe(true);
    expect(() => q.push(2)).not.toThrow();
    expect(q.push(3)).toBe(false);
    await expect(q.flush()).resolves.toBeUndefined();
    await q.close();
  });

  it('close writes what is queued, then refuses (and counts) later pushes', async () => {
    const r = recorder();
    const written: number[] = [];
    const q = createBatchQueue<number>({ batchSize: 2, flushIntervalMs: 60_000, write: async (b) => { await tick(5); written.push(...b); }, onDrop: r.onDrop });
    for (let i = 0; i < 5; i++) q.push(i);
    await q.close();
    expect(written).toEqual([0, 1, 2, 3, 4]);
    expect(q.push(5)).toBe(false);
    expect(r.drops).toEqual([{ count: 1, reason: 'queue_full' }]);
  });

  it('one writer at a time: concurrent flushes do not reorder batches', async () => {
    const written: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const q = createBatchQueue<number>({ batchSize: 2, flushIntervalMs: 5, write: async (b) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await tick(Math.random() * 5);
      written.push(...b);
      inFlight--;
    }, onDrop: () => {} });
    for (let i = 0; i < 50; i++) {
      q.push(i);
      if (i % 7 === 0) void q.flush();
      if (i % 10 === 0) await tick(3);
    }
    await q.close();
    expect(written).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(maxInFlight).toBe(1);
  });
});
