/** One event on its way to one receiver, as the delivery log shows it. Never the secret or the body's signature. */
export interface DeliveryRecord {
  id: string;
  webhook: string;
  eventId: string;
  eventType: string;
  status: 'pending' | 'delivering' | 'delivered' | 'failed';
  /** Attempts made so far. */
  attempts: number;
  createdAt: string;
  updatedAt: string;
  /** When the next attempt is due (pending); null once delivered or failed. */
  nextAttemptAt: string | null;
  /** HTTP status of the last answer; null when there was none (refused, timed out). */
  lastStatus: number | null;
  /** Why the last attempt failed; null after a success. */
  lastError: string | null;
}

export interface QueuedDelivery {
  record: DeliveryRecord;
  /** The event JSON, exactly the bytes sent (and signed) at every attempt. */
  body: string;
}

export type Settlement =
  | { outcome: 'delivered'; at: Date; lastStatus: number }
  | { outcome: 'retry'; at: Date; nextAt: Date; lastStatus: number | null; lastError: string }
  | { outcome: 'failed'; at: Date; lastStatus: number | null; lastError: string };

export interface DeliveryFilter {
  status?: DeliveryRecord['status'];
  webhook?: string;
  eventId?: string;
  /** @default 100 */
  limit: number;
}

/**
 * Where deliveries wait. Redis (shared by every replica, survives a restart) or in process with
 * the embedded store (lost with the process). `claim` leases a due delivery to one worker: if the
 * worker dies the lease runs out and another replica retries it, so delivery is at least once.
 */
export interface DeliveryStore {
  readonly backend: 'redis' | 'memory';
  /** Resolves with how many were refused because `maxPending` deliveries already wait. */
  enqueue(items: QueuedDelivery[], now: Date): Promise<number>;
  /** Up to `max` due deliveries, each leased for `leaseMs` (attempts counts the one starting). */
  claim(now: Date, max: number, leaseMs: number): Promise<QueuedDelivery[]>;
  settle(id: string, s: Settlement): Promise<void>;
  /** Newest first. */
  list(filter: DeliveryFilter): Promise<DeliveryRecord[]>;
  /** Deliveries waiting (pending or leased). */
  pending(): Promise<number>;
  close(): Promise<void>;
}

export function matchesFilter(r: DeliveryRecord, f: DeliveryFilter): boolean {
  return (f.status === undefined || r.status === f.status) && (f.webhook === undefined || r.webhook === f.webhook) && (f.eventId === undefined || r.eventId === f.eventId);
}

/** The record after a settlement. */
export function settled(r: DeliveryRecord, s: Settlement): DeliveryRecord {
  const at = s.at.toISOString();
  if (s.outcome === 'delivered') return { ...r, status: 'delivered', updatedAt: at, nextAttemptAt: null, lastStatus: s.lastStatus, lastError: null };
  if (s.outcome === 'retry') return { ...r, status: 'pending', updatedAt: at, nextAttemptAt: s.nextAt.toISOString(), lastStatus: s.lastStatus, lastError: s.lastError };
  return { ...r, status: 'failed', updatedAt: at, nextAttemptAt: null, lastStatus: s.lastStatus, lastError: s.lastError };
}
