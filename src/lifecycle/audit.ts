import type { Logger } from '../log/logger.ts';
import type { Actor } from './service.ts';

export interface AdminAudit {
  record(actor: Actor, action: string, target: string, details: Record<string, unknown>): void;
}

/**
 * Every admin write: who, what, when, as a JSON log line. The audit trail (src/audit/admin.ts)
 * wraps this to keep the same event where `GET /v1/audit` reads it. Never a secret: callers
 * pass ids and field names, not values of secrets.
 */
export function createAdminAudit(logger: Logger): AdminAudit {
  return {
    record(actor, action, target, details) {
      logger.info({ audit: { at: new Date().toISOString(), actor: actor.name, action, target, details } }, 'admin write');
    },
  };
}
