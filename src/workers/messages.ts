import type { ReloadReason } from '../config/reloader.ts';

/**
 * What the primary and its workers say to each other over the cluster IPC channel (node's own
 * cluster messages share it). Every type starts with `keygate:`.
 */
export type ToWorker =
  /**
   * Load the file and swap (SIGHUP or a file change). `report`: this worker goes first (the
   * canary) and answers `keygate:reloaded`; the others are told only once it has succeeded.
   */
  | { type: 'keygate:reload'; reason: ReloadReason; report?: boolean }
  /** The canary refused the file: count the failed reload (each worker's counter; see aggregate.ts). */
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
  | { type: 'keygate:collected'; id: number; metrics: MetricJson[] }
  /** The canary's reload: whether the new file runs, and what the primary needs of it. */
  | { type: 'keygate:reloaded'; ok: boolean; workers: number | 'auto'; drainTimeoutMs: number };

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
/** Set by `serve` when it re-executes itself as a lean primary: `{workers, drainTimeoutMs, level}`. */
export const PRIMARY_ENV = 'KEYGATE_PRIMARY';
