import type { AdminAudit } from '../lifecycle/audit.ts';
import { adminEvent } from './event.ts';
import type { AuditTrail } from './trail.ts';

/**
 * The lifecycle's admin-write audit, also feeding the trail: every write the lifecycle records
 * (already logged as a line by `base`) becomes an `admin` event next to the request events.
 */
export function auditAdminWrites(base: AdminAudit, trail: AuditTrail): AdminAudit {
  return {
    record(actor, action, target, details) {
      base.record(actor, action, target, details);
      trail.record(adminEvent(actor, action, target, details, actor.client === undefined ? {} : { client: actor.client }));
    },
  };
}
