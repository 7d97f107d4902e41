import { describe, expect, it } from 'vitest';
import { startBufferCollector } from '../../../src/memory/buffer-collector.ts';
import { gcFunction } from '../../../src/memory/gc.ts';

const tick = () => new Promise((r) => setTimeout(r, 15));

describe('buffer collector (issue 12: streamed buffers collected by bytes)', () => {
  it('asks for a young-generation collection once buffer memory has grown by its step, and not before', async () => {
    const gc = gcFunction();
    expect(gc).not.toBeNull();
    const c = startBufferCollector({ stepBytes: 4 * 2 ** 20, everyMs: 5 });
    if (c === null) throw new Error('no collector');
    try {
      // Quiet: a few ticks with no buffers made, no collection.
      for (let i = 0; i < 5; i++) await tick();
      expect(c.collections).toBe(0);
      // 16 MiB of short-lived 64 KiB buffers, as a stream's socket reads are: kept until a tick has
      // seen them (so they count however V8 schedules), then dropped.
      const held: Buffer[] = [];
      for (let i = 0; i < 256; i++) held.push(Buffer.allocUnsafeSlow(64 * 1024).fill(i));
      for (let i = 0; i < 200 && c.collections === 0; i++) await tick();
      held.length = 0;
      expect(c.collections).toBeGreaterThan(0);
    } finally {
      c.stop();
    }
  });

  it('is off without a gc function (KEYGATE_NODE_FLAGS=off)', () => {
    expect(startBufferCollector({ gc: null })).toBeNull();
  });
});
