import type { ReloadReason } from '../config/reloader.ts';

/**
 * What the primary and its workers say to each other over the cluster IPC channel (node's own
 * cluster messages share it). Every type starts with `keygate:`.
 */
export type ToWorker =
  /** The primary validated the file (SIGHUP or a file change): load it and swap. */
  | { type: 'keygate:reload'; reason: ReloadReason }
  /** The primary refused the file: count the failed reload (each worker's counter; see aggregate.ts). */
  | { type: 'keygate:reload-refused' }
  /** Stop taking connections, finish what is in flight, exit 0. */
  | { type: 'keygate:drain' }
  | { type: 'keygate:metrics'; id: number; contentType: string; body: string; error?: string }
  /** To the admin worker, whenever it changes: how many workers serve (its /readyz says so). */
  | { type: 'keygate:fleet'; serving: number; total: number }
  /** Send this worker's metrics (prom-client's JSON form) for the primary to aggregate. */
  | { type: 'keygate:collect'; id: number };

export type ToPrimary =
  | { type: 'keygate:ready'; port: number; adminPort: number; checkPort: number | null; grpcCheckPort: number | null }
  /** The admin worker serves `/metrics`: the primary asks every worker and sums. */
  | { type: 'keygate:metrics?'; id: number }
  | { type: 'keygate:collected'; id: number; metrics: MetricJson[] };

/** One metric as `Registry.getMetricsAsJSON()` gives it. */
export type MetricJson = Awaited<ReturnType<import('prom-client').Registry['getMetricsAsJSON']>>[number];

function isMessage(m: unknown): m is { type: string } {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' && (m as { type: string }).type.startsWith('keygate:');
}

export const isToWorker = (m: unknown): m is ToWorker => isMessage(m);
export const isToPrimary = (m: unknown): m is ToPrimary => isMessage(m);

/** Environment of a forked worker: its slot (1..N, kept across restarts) and whether it serves admin. */
export const WORKER_SLOT_ENV = 'KEYGATE_WORKER_SLOT';
export const WORKER_ADMIN_ENV = 'KEYGATE_WORKER_ADMIN';
