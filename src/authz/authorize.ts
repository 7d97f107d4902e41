import type { RoleConfig } from '../config/types.ts';
import type { PrincipalRecord } from '../keystore/types.ts';
import { ActionSet } from './actions.ts';

export type Decision = { allowed: true } | { allowed: false; missing: string };

const ALLOWED: Decision = { allowed: true };

/**
 * Principal → actions, computed from the roles of the config generation in force. Cached per
 * principal record object: a reload builds a new Authorizer, so role changes apply at once.
 */
export class Authorizer {
  private readonly roles: Map<string, RoleConfig>;
  private readonly cache = new WeakMap<PrincipalRecord, ActionSet>();

  constructor(roles: Map<string, RoleConfig>) {
    this.roles = roles;
  }

  actionsOf(principal: PrincipalRecord): ActionSet {
    let set = this.cache.get(principal);
    if (set === undefined) {
      const grants: string[] = [];
      // An unknown role grants nothing: a role removed from the config stops working at once.
      for (const r of principal.roles) grants.push(...(this.roles.get(r)?.actions ?? []));
      set = new ActionSet(grants);
      this.cache.set(principal, set);
    }
    return set;
  }

  authorize(principal: PrincipalRecord, required: readonly string[]): Decision {
    const missing = this.actionsOf(principal).missing(required);
    return missing === undefined ? ALLOWED : { allowed: false, missing };
  }
}
