/**
 * Streamed bodies are collected by bytes, not by V8's schedule (issue 12: a 1 GiB stream within
 * 20 MB of a 100 MiB one).
 *
 * Every socket read of a streamed body is a fresh Buffer whose memory lives outside the JS heap;
 * once written on it is garbage, but only a collection frees it. V8 schedules young-generation
 * collections by JS allocation, which a stream barely does (a few hundred bytes per 64 KiB
 * chunk), and forces one only when young buffers reach ≈32 MiB; buffers still in flight at a
 * collection are promoted and then wait for a full one. So dead buffers pile up by tens of MiB,
 * more the faster and the longer the stream: measured (bench/memory.ts, the transfer's own peak
 * over idle RSS) +47 to +63 MiB for 100 MiB and +76 to +94 MiB for 1 GiB.
 *
 * Here a young-generation collection is asked for whenever external memory (ArrayBuffers) has
 * grown by `stepBytes` since the last look that found it lower, checked every `everyMs`. With
 * it: +23 to +36 MiB for 100 MiB and +23 to +46 MiB for 1 GiB. The check is one
 * `v8.getHeapStatistics()` (≈1 µs) per tick; a gateway serving small requests never grows its
 * buffers by 8 MiB in 20 ms, so it never collects here; a stream pays one scavenge (a fraction
 * of a millisecond: the young generation holds little) per `stepBytes` forwarded.
 */
import v8 from 'node:v8';
import { gcFunction, type Gc } from './gc.ts';

export interface BufferCollector {
  /** Young-generation collections asked for so far. */
  readonly collections: number;
  stop(): void;
}

export function startBufferCollector(opts: { stepBytes?: number; everyMs?: number; gc?: Gc | null } = {}): BufferCollector | null {
  const gc = opts.gc === undefined ? gcFunction() : opts.gc;
  if (gc === null) return null;
  const step = opts.stepBytes ?? 8 * 2 ** 20;
  /** External memory after the last collection (or the lowest seen since): what counts as "grown" from. */
  let floor = v8.getHeapStatistics().external_memory;
  let collections = 0;
  const timer = setInterval(() => {
    const now = v8.getHeapStatistics().external_memory;
    if (now < floor) floor = now;
    else if (now - floor > step) {
      gc({ type: 'minor' });
      collections++;
      // Freed buffers are released by a background sweeper: the next ticks lower the floor.
      floor = now;
    }
  }, opts.everyMs ?? 20);
  // Never what keeps the process alive.
  timer.unref();
  return {
    get collections() {
      return collections;
    },
    stop: () => clearInterval(timer),
  };
}
