import type { RoleConfig } from '../config/types.ts';
import type { KeyRecord, PrincipalRecord } from '../keystore/types.ts';
import { ActionSet } from './actions.ts';
import type { GroupDirectory } from './groups.ts';

export type Decision = { allowed: true } | { allowed: false; missing: string };

const ALLOWED: Decision = { allowed: true };

/** The resource a route's action applies to, from its path (`resource: {type, param}`). */
export interface ResourceRef {
  type: string;
  id: string;
}

/**
 * Who may do what, for one config generation. A principal's actions are the union of its roles'
 * actions (anywhere) and, on a route that names a resource, the roles of its groups that list
 * that resource (Contrast access groups). A key's `scopes` then narrow the result: a key can
 * only ever do less than its principal. A reload builds a new Authorizer, so role changes
 * apply at once.
 */
export class Authorizer {
  private readonly roles: Map<string, RoleConfig>;
  private readonly groups: GroupDirectory | null;
  private readonly byPrincipal = new WeakMap<PrincipalRecord, ActionSet>();
  private readonly byKey = new WeakMap<KeyRecord, ActionSet>();

  constructor(roles: Map<string, RoleConfig>, groups: GroupDirectory | null = null) {
    this.roles = roles;
    this.groups = groups;
  }

  private grants(roleNames: readonly string[]): string[] {
    const out: string[] = [];
    // An unknown role grants nothing: a role removed from the config stops working at once.
    for (const r of roleNames) out.push(...(this.roles.get(r)?.actions ?? []));
    return out;
  }

  actionsOf(principal: PrincipalRecord): ActionSet {
    let set = this.byPrincipal.get(principal);
    if (set === undefined) this.byPrincipal.set(principal, (set = new ActionSet(this.grants(principal.roles))));
    return set;
  }

  private scopesOf(key: KeyRecord): ActionSet | null {
    if (key.scopes === undefined) return null;
    let set = this.byKey.get(key);
    if (set === undefined) this.byKey.set(key, (set = new ActionSet(key.scopes)));
    return set;
  }

  /** Actions the principal's groups grant on one resource. */
  private onResource(principal: PrincipalRecord, resource: ResourceRef): ActionSet {
    const roles: string[] = [];
    for (const name of principal.groups) {
      const group = this.groups?.get(name);
      const ids = group?.resources[resource.type];
      if (group !== undefined && ids !== undefined && (ids.includes(resource.id) || ids.includes('*'))) roles.push(...group.roles);
    }
    return new ActionSet(this.grants(roles));
  }

  authorize(principal: PrincipalRecord, key: KeyRecord, required: readonly string[], resource: ResourceRef | null): Decision {
    const global = this.actionsOf(principal);
    const scopes = this.scopesOf(key);
    let scoped: ActionSet | null = null;
    for (const action of required) {
      let ok = global.has(action);
      if (!ok && resource !== null) ok = (scoped ??= this.onResource(principal, resource)).has(action);
      if (ok && scopes !== null) ok = scopes.has(action);
      if (!ok) return { allowed: false, missing: action };
    }
    return ALLOWED;
  }
}
