import type { Logger } from '../log/logger.ts';
import type { Actor } from './service.ts';

export interface AdminEvent {
  at: string;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
}

export interface AdminAudit {
  record(actor: Actor, action: string, target: string, details: Record<string, unknown>): void;
  /** Most recent first. */
  recent(limit: number): AdminEvent[];
}

/**
 * Every admin write: who, what, when. Logged as a JSON line and kept in a bounded ring for the
 * admin API; never a secret (callers pass ids and field names, not values of secrets).
 */
export function createAdminAudit(logger: Logger, capacity = 10_000): AdminAudit {
  const ring: AdminEvent[] = [];
  return {
    record(actor, action, target, details) {
      const event: AdminEvent = { at: new Date().toISOString(), actor: actor.name, action, target, details };
      ring.push(event);
      if (ring.length > capacity) ring.shift();
      logger.info({ audit: event }, 'admin write');
    },
    recent: (limit) => ring.slice(-limit).reverse(),
  };
}
