import type { GatewayConfig, LimitPolicy, LimitScope, QuotaConfig, RouteConfig } from '../config/types.ts';
import type { KeyRecord, LimitOverride, PrincipalRecord } from '../keystore/types.ts';
import type { Demand, QuotaDemand } from './demand.ts';
import { parseRate, perMs } from './rate.ts';

/** Limits and quotas the config file attaches to its declared principals and keys, by name / id. */
interface Declared {
  principals: Map<string, { limit?: string; quota?: QuotaConfig }>;
  keys: Map<string, { limit?: string; quota?: QuotaConfig }>;
  /** Whether any limit or quota is configured at all: when not, no request pays for this stage. */
  any: boolean;
}

const declaredByConfig = new WeakMap<GatewayConfig, Declared>();

function declaredOf(c: GatewayConfig): Declared {
  let d = declaredByConfig.get(c);
  if (d !== undefined) return d;
  d = { principals: new Map(), keys: new Map(), any: c.limits.size > 0 };
  for (const p of c.principals) {
    if (p.limit !== undefined || p.quota !== undefined) d.principals.set(p.name, p);
    for (const k of p.keys) if (k.limit !== undefined || k.quota !== undefined) d.keys.set(k.id, k);
    if (p.quota !== undefined || p.keys.some((k) => k.quota !== undefined)) d.any = true;
  }
  for (const o of c.orgs.values()) if (o.quota !== undefined) d.any = true;
  declaredByConfig.set(c, d);
  return d;
}

/** An admin override → a policy: a named one, or its own (named `override`). Null when unusable. */
const inlineByOverride = new WeakMap<object, LimitPolicy | null>();
function overridePolicy(o: LimitOverride, c: GatewayConfig): LimitPolicy | null {
  if (typeof o === 'string') return c.limits.get(o) ?? null;
  let p = inlineByOverride.get(o);
  if (p !== undefined) return p;
  const rate = parseRate(o.rate);
  p = rate === null ? null : { name: 'override', rate, burst: o.burst ?? rate.count, per: o.per ?? 'principal' };
  inlineByOverride.set(o, p);
  return p;
}

/** Of several role limits, the tightest: the lowest sustained rate, then the smaller burst. */
function tightest(policies: LimitPolicy[]): LimitPolicy | null {
  let best: LimitPolicy | null = null;
  for (const p of policies) {
    if (best === null || perMs(p.rate) < perMs(best.rate) || (perMs(p.rate) === perMs(best.rate) && p.burst < best.burst)) best = p;
  }
  return best;
}

/**
 * The one limit that governs who is calling, most specific first: the key's (admin override,
 * then config), the principal's (override, then config), else the tightest of its roles'.
 */
function identityPolicy(c: GatewayConfig, d: Declared, key: KeyRecord, principal: PrincipalRecord): LimitPolicy | null {
  if (key.limit !== undefined) return overridePolicy(key.limit, c);
  const kd = d.keys.get(key.id)?.limit;
  if (kd !== undefined) return c.limits.get(kd) ?? null;
  if (principal.limit !== undefined) return overridePolicy(principal.limit, c);
  const pd = d.principals.get(principal.name)?.limit;
  if (pd !== undefined) return c.limits.get(pd) ?? null;
  const fromRoles: LimitPolicy[] = [];
  for (const r of principal.roles) {
    const name = c.roles.get(r)?.limit;
    const p = name === undefined ? undefined : c.limits.get(name);
    if (p !== undefined) fromRoles.push(p);
  }
  return tightest(fromRoles);
}

function subject(per: LimitScope, key: KeyRecord, principal: PrincipalRecord): string {
  if (per === 'key') return `key:${key.id}`;
  // A principal without an org is its own org: counted alone rather than with every org-less one.
  if (per === 'org' && principal.org !== undefined) return `org:${principal.org}`;
  return `principal:${principal.id}`;
}

function rateDemand(p: LimitPolicy, key: KeyRecord, principal: PrincipalRecord, route: string | null): Demand {
  const name = p.name === 'override' ? `override(${p.rate.text},${p.burst})` : p.name;
  return { kind: 'rate', key: `${name}|${subject(p.per, key, principal)}${route === null ? '' : `|route:${route}`}`, policy: p };
}

function quotaDemand(scope: QuotaDemand['scope'], id: string, quota: QuotaConfig): QuotaDemand {
  return { kind: 'quota', key: `${scope}:${id}`, name: `${scope}-quota`, scope, quota };
}

/** Every quota that counts this request: the key's, the principal's and the org's. */
export function quotasFor(c: GatewayConfig, key: KeyRecord, principal: PrincipalRecord): QuotaDemand[] {
  const d = declaredOf(c);
  const out: QuotaDemand[] = [];
  const kq = key.quota ?? d.keys.get(key.id)?.quota;
  if (kq !== undefined) out.push(quotaDemand('key', key.id, kq));
  const pq = principal.quota ?? d.principals.get(principal.name)?.quota;
  if (pq !== undefined) out.push(quotaDemand('principal', principal.id, pq));
  const oq = principal.org === undefined ? undefined : c.orgs.get(principal.org)?.quota;
  if (oq !== undefined && principal.org !== undefined) out.push(quotaDemand('org', principal.org, oq));
  return out;
}

const NONE: readonly Demand[] = [];

/** Per key record: its demands by route, for the config and principal they were computed with. */
const memo = new WeakMap<KeyRecord, { config: GatewayConfig; principal: PrincipalRecord; byRoute: Map<string, readonly Demand[]> }>();

/**
 * Everything a request must pass: the route's limit, the caller's limit, the org's limit, and
 * every quota. Worked out once per (key record, principal record, config, route) and memoized,
 * so the cached path costs a WeakMap and a Map lookup.
 */
export function demandsFor(c: GatewayConfig, route: RouteConfig, key: KeyRecord, principal: PrincipalRecord): readonly Demand[] {
  const d = declaredOf(c);
  if (!d.any && key.limit === undefined && key.quota === undefined && principal.limit === undefined && principal.quota === undefined) return NONE;
  let m = memo.get(key);
  if (m === undefined || m.config !== c || m.principal !== principal) memo.set(key, (m = { config: c, principal, byRoute: new Map() }));
  const hit = m.byRoute.get(route.name);
  if (hit !== undefined) return hit;
  const out: Demand[] = [];
  const push = (x: Demand): void => {
    // One bucket reached twice (a role's and the org's limit both the same per-org policy) counts once.
    if (!out.some((y) => y.key === x.key)) out.push(x);
  };
  const rp = route.limit === undefined ? undefined : c.limits.get(route.limit);
  if (rp !== undefined) push(rateDemand(rp, key, principal, route.name));
  const ip = identityPolicy(c, d, key, principal);
  if (ip !== null) push(rateDemand(ip, key, principal, null));
  const orgName = principal.org === undefined ? undefined : c.orgs.get(principal.org)?.limit;
  const op = orgName === undefined ? undefined : c.limits.get(orgName);
  if (op !== undefined) push(rateDemand(op, key, principal, null));
  out.push(...quotasFor(c, key, principal));
  const result = out.length === 0 ? NONE : out;
  m.byRoute.set(route.name, result);
  return result;
}
