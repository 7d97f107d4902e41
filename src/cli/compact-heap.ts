/**
 * One compacting garbage collection once `keygate serve` has started (issue 12: idle RSS).
 *
 * Loading the config is the largest allocation keygate ever makes: the YAML tree, its plain
 * copy, the schema validation and the typed config of a 10k-key file peak at ≈90 MiB of heap,
 * of which ≈35 MiB is live afterwards. V8 keeps the pages it grew into (no major GC runs on an
 * idle process, and a regular one frees objects but not pages), so the process would idle at
 * its start-up peak. A "last resort" collection (full, compacting, pooled pages released) right
 * after start measured 172 → 103 MiB RSS with 10k declared keys and 107 → 85 MiB with the
 * embedded default, for one pause of ≈90–170 ms before the first request is likely to arrive.
 *
 * Node has no API for this without `--expose-gc`, which would put a `gc` global in front of
 * every dependency. So the flag is set only long enough to create a fresh VM context (contexts
 * read it when created), the context's `gc` is taken, and the flag is cleared again: the main
 * context never gets a `gc` global. KEYGATE_NODE_FLAGS=off skips this too (runtime-flags.ts).
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

/** Runs the collection; returns false when this Node offers no `gc` that way (nothing done). */
export function compactHeap(): boolean {
  if (process.env['KEYGATE_NODE_FLAGS'] === 'off') return false;
  // Run with --expose-gc by the operator: that gc, and their flag left as it is.
  let gc: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = runInNewContext('typeof gc === "function" ? gc : undefined');
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  }
  if (typeof gc !== 'function') return false;
  (gc as Gc)({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return true;
}
