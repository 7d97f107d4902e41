/**
 * V8's `gc()` for keygate's own use (compact-heap.ts, buffer-collector.ts), without a `gc`
 * global in front of every dependency. `--expose-gc` given at startup would add one; instead the
 * flag is set only long enough to create a fresh VM context (contexts read it when they are
 * created), that context's `gc` is taken, and the flag is cleared again. An operator who runs
 * node with --expose-gc themselves gets that function and keeps their flag.
 * KEYGATE_NODE_FLAGS=off (which also turns off the re-exec with V8 flags, runtime-flags.ts)
 * leaves V8's flags alone here too: no `gc`, and both users do nothing.
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

export type Gc = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

let cached: Gc | null | undefined;

/** The collector function, or null when it is not to be had (KEYGATE_NODE_FLAGS=off, or a Node without it). */
export function gcFunction(): Gc | null {
  if (process.env['KEYGATE_NODE_FLAGS'] === 'off') return null;
  if (cached !== undefined) return cached;
  let gc: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = runInNewContext('typeof gc === "function" ? gc : undefined');
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  }
  cached = typeof gc === 'function' ? (gc as Gc) : null;
  return cached;
}
