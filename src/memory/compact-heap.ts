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
 */
import { gcFunction } from './gc.ts';

/** Runs the collection; false when no `gc` is to be had (gc.ts), and nothing was done. */
export function compactHeap(): boolean {
  const gc = gcFunction();
  if (gc === null) return false;
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return true;
}
