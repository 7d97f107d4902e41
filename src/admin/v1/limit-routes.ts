import type { GatewayConfig } from '../../config/types.ts';
import type { KeyRecord, KeyStore, LimitOverride, PrincipalRecord, QuotaOverride } from '../../keystore/types.ts';
import type { Lifecycle } from '../../lifecycle/service.ts';
import type { Limiter } from '../../limits/limiter.ts';
import type { QuotaDemand } from '../../limits/demand.ts';
import { quotasFor } from '../../limits/applicable.ts';
import { AdminError } from '../../lifecycle/errors.ts';
import type { AdminRoute, Call } from './routes.ts';
import { must } from '../../must.ts';

/** Bodies and views of the limit endpoints, merged into the admin schemas (schemas.ts). */
export const limitSchemas = {
  LimitsUpdate: {
    type: 'object', additionalProperties: false, minProperties: 1,
    description: 'Overrides; null removes one (the config\'s limits apply again)',
    properties: {
      limit: {
        description: 'A policy name from `limits`, or a policy of its own',
        oneOf: [
          { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' },
          {
            type: 'object', additionalProperties: false, required: ['rate'],
            properties: {
              rate: { type: 'string', pattern: '^[1-9][0-9]{0,9}/(s|m|h|d)$' },
              burst: { type: 'integer', minimum: 1, maximum: 1000000000 },
              per: { enum: ['key', 'principal', 'org'] },
            },
          },
          { type: 'null' },
        ],
      },
      quota: {
        oneOf: [
          {
            type: 'object', additionalProperties: false, required: ['requests'],
            properties: { requests: { type: 'integer', minimum: 1, maximum: 1000000000000 }, period: { enum: ['day', 'month', 'none'], default: 'month' } },
          },
          { type: 'null' },
        ],
      },
    },
  },
  LimitOverride: {
    description: 'A rate-limit override: a policy name from `limits`, or a policy of its own',
    oneOf: [
      { type: 'string' },
      { type: 'object', required: ['rate'], properties: { rate: { type: 'string' }, burst: { type: 'integer', minimum: 1 }, per: { enum: ['key', 'principal', 'org'] } } },
    ],
  },
  QuotaOverride: {
    type: 'object', required: ['requests', 'period'],
    properties: { requests: { type: 'integer', minimum: 1 }, period: { enum: ['day', 'month', 'none'] } },
  },
  QuotaReset: {
    type: 'object', additionalProperties: false,
    properties: { remaining: { type: 'integer', minimum: 0, maximum: 1000000000000, description: 'What is left this period (default: the full quota)' } },
  },
  QuotaState: {
    type: 'object', required: ['scope', 'name', 'requests', 'period', 'used', 'remaining', 'resetsAt'],
    properties: {
      scope: { enum: ['key', 'principal', 'org'] }, name: { type: 'string' }, requests: { type: 'integer' }, period: { enum: ['day', 'month', 'none'] },
      used: { type: 'integer', description: 'Counted fleet-wide, including leases replicas hold but have not spent (at most one lease per replica ahead)' },
      remaining: { type: 'integer' }, resetsAt: { type: ['string', 'null'], format: 'date-time' },
    },
  },
  Limits: {
    type: 'object', required: ['limit', 'quotas'],
    properties: {
      override: {
        type: 'object', description: 'What the admin API set; an absent field: none',
        properties: { limit: { $ref: '#/components/schemas/LimitOverride' }, quota: { $ref: '#/components/schemas/QuotaOverride' } },
      },
      limit: {
        type: ['object', 'null'], description: 'The caller limit in force, and where it comes from; null: none applies',
        required: ['policy', 'rate', 'burst', 'per', 'source'],
        properties: {
          policy: { type: 'string', description: 'A policy name from `limits`, or `override` for a policy of its own' },
          rate: { type: 'string', pattern: '^[1-9][0-9]*/(s|m|h|d)$' },
          burst: { type: ['integer', 'null'], minimum: 1 },
          per: { enum: ['key', 'principal', 'org'] },
          source: { enum: ['key override', 'key (config)', 'principal override', 'principal (config)', 'role'] },
        },
      },
      quotas: { type: 'array', items: { $ref: '#/components/schemas/QuotaState' } },
    },
  },
} as const;

export interface LimitRouteDeps {
  lifecycle: Lifecycle;
  limiter: Limiter;
  config: () => GatewayConfig;
  /** Keys and principals declared in the config file (read-only here: their limits are the file's). */
  declared?: KeyStore;
}

type Body = { limit?: LimitOverride | null; quota?: QuotaOverride | null };

/** The admin body → a store patch: null clears (own property, value undefined). */
function overridePatch(c: Call, config: GatewayConfig): { limit?: LimitOverride; quota?: QuotaOverride } {
  const b = c.body as Body;
  const patch: { limit?: LimitOverride; quota?: QuotaOverride } = {};
  if (Object.hasOwn(b, 'limit')) {
    if (typeof b.limit === 'string' && !config.limits.has(b.limit)) {
      throw new AdminError('invalid_input', `limit: no policy "${b.limit}" under limits (defined: ${[...config.limits.keys()].join(', ') || 'none'})`, 'limit');
    }
    patch.limit = b.limit ?? undefined;
  }
  if (Object.hasOwn(b, 'quota')) patch.quota = b.quota === null || b.quota === undefined ? undefined : { requests: b.quota.requests, period: b.quota.period ?? 'month' };
  return patch;
}

/** Where the caller limit of a key comes from, most specific first (as src/limits/applicable.ts decides). */
function effectiveLimit(config: GatewayConfig, key: KeyRecord | null, p: PrincipalRecord) {
  const declaredKey = key === null ? undefined : config.principals.find((d) => d.name === p.name)?.keys.find((k) => k.id === key.id);
  const declared = config.principals.find((d) => d.name === p.name);
  const pick = (o: LimitOverride | undefined, source: string) => {
    if (o === undefined) return null;
    if (typeof o === 'string') {
      const pol = config.limits.get(o);
      return pol === undefined ? null : { policy: o, rate: pol.rate.text, burst: pol.burst, per: pol.per, source };
    }
    return { policy: 'override', rate: o.rate, burst: o.burst ?? null, per: o.per ?? 'principal', source };
  };
  const roles = p.roles.map((r) => config.roles.get(r)?.limit).filter((x): x is string => x !== undefined);
  return pick(key?.limit, 'key override') ?? pick(declaredKey?.limit, 'key (config)') ?? pick(p.limit, 'principal override')
    ?? pick(declared?.limit, 'principal (config)') ?? pick(roles.sort((a, b) => rateOf(config, a) - rateOf(config, b))[0], 'role');
}

function rateOf(config: GatewayConfig, name: string): number {
  const p = config.limits.get(name);
  return p === undefined ? Infinity : p.rate.count / p.rate.periodMs;
}

async function quotaStates(limiter: Limiter, demands: QuotaDemand[]) {
  return Promise.all(demands.map(async (d) => {
    try {
      const s = await limiter.quotaState(d);
      return { scope: d.scope, name: d.name, requests: d.quota.requests, period: d.quota.period, used: s.used, remaining: s.remaining, resetsAt: s.resetsAt === null ? null : new Date(s.resetsAt).toISOString() };
    } catch {
      throw new AdminError('store_unavailable', 'Quota counts cannot be read: the store is unavailable');
    }
  }));
}

/**
 * `GET/PATCH /v1/keys/{id}/limits`, `GET/PATCH /v1/principals/{id}/limits` and the quota resets:
 * per-key and per-principal overrides of limits and quotas, and what is left of each quota.
 */
export function limitRoutes(deps: LimitRouteDeps): AdminRoute[] {
  const { lifecycle: lc, limiter } = deps;
  // The runtime store first; a declared record when it has none (read-only: PATCH refuses it).
  const orDeclared = async <T>(find: () => Promise<T>, declared: (s: KeyStore) => Promise<T | null>): Promise<T> => {
    try {
      return await find();
    } catch (e) {
      const d = e instanceof AdminError && e.code === 'not_found' && deps.declared !== undefined ? await declared(deps.declared) : null;
      if (d === null) throw e;
      return d;
    }
  };
  const principalOf = (ref: string) => orDeclared(() => lc.principals.get(ref), async (s) => (await s.getPrincipal(ref)) ?? s.getPrincipalByName(ref));
  const keyOf = (ref: string) => orDeclared(() => lc.keys.get(ref), (s) => s.getKey(ref));
  const keyLimits = async (k: KeyRecord) => {
    const p = await principalOf(k.principalId);
    const override = { ...(k.limit === undefined ? {} : { limit: k.limit }), ...(k.quota === undefined ? {} : { quota: k.quota }) };
    return { override, limit: effectiveLimit(deps.config(), k, p), quotas: await quotaStates(limiter, quotasFor(deps.config(), k, p)) };
  };
  const principalLimits = async (p: PrincipalRecord) => {
    const override = { ...(p.limit === undefined ? {} : { limit: p.limit }), ...(p.quota === undefined ? {} : { quota: p.quota }) };
    // Without a key, only the principal's and org's quotas apply.
    const stand = { id: '', principalId: p.id, hash: '', createdAt: new Date(0), type: 'api_key' } satisfies KeyRecord;
    return { override, limit: effectiveLimit(deps.config(), null, p), quotas: await quotaStates(limiter, quotasFor(deps.config(), stand, p)) };
  };
  const id = (c: Call) => must(c.params['id'], 'route template has {id}');
  const reset = async (demands: QuotaDemand[], scope: QuotaDemand['scope'], c: Call) => {
    const d = demands.find((x) => x.scope === scope);
    if (d === undefined) throw new AdminError('invalid_input', `No ${scope} quota applies here`);
    const remaining = (c.body as { remaining?: number }).remaining ?? d.quota.requests;
    try {
      await limiter.setQuotaRemaining(d, Math.min(remaining, d.quota.requests));
    } catch {
      throw new AdminError('store_unavailable', 'The quota cannot be reset: the store is unavailable');
    }
  };
  return [
    { method: 'GET', path: '/v1/keys/{id}/limits', summary: 'The key\'s limit in force, its overrides, and what is left of each quota that counts it', ok: { status: 200, schema: 'Limits' },
      handle: async (c) => keyLimits(await keyOf(id(c))) },
    { method: 'PATCH', path: '/v1/keys/{id}/limits', summary: 'Override the key\'s limit or quota (null: back to the config\'s)', body: 'LimitsUpdate', ok: { status: 200, schema: 'Limits' },
      handle: async (c) => keyLimits(await lc.keys.update(id(c), overridePatch(c, deps.config()), c.actor)) },
    { method: 'POST', path: '/v1/keys/{id}/quota/reset', summary: 'Set what is left of the key\'s quota this period (default: all of it)', body: 'QuotaReset', ok: { status: 200, schema: 'Limits' },
      handle: async (c) => {
        const k = await keyOf(id(c));
        await reset(quotasFor(deps.config(), k, await principalOf(k.principalId)), 'key', c);
        return keyLimits(k);
      } },
    { method: 'GET', path: '/v1/principals/{id}/limits', summary: 'The principal\'s limit in force, its overrides, and its and its org\'s quotas', ok: { status: 200, schema: 'Limits' },
      handle: async (c) => principalLimits(await principalOf(id(c))) },
    { method: 'PATCH', path: '/v1/principals/{id}/limits', summary: 'Override the principal\'s limit or quota (null: back to the config\'s); every key of it follows', body: 'LimitsUpdate', ok: { status: 200, schema: 'Limits' },
      refuses: ['read_only'],
      handle: async (c) => principalLimits(await lc.principals.update(id(c), overridePatch(c, deps.config()), c.actor)) },
    { method: 'POST', path: '/v1/principals/{id}/quota/reset', summary: 'Set what is left of the principal\'s quota this period (default: all of it)', body: 'QuotaReset', ok: { status: 200, schema: 'Limits' },
      handle: async (c) => {
        const p = await principalOf(id(c));
        const stand = { id: '', principalId: p.id, hash: '', createdAt: new Date(0), type: 'api_key' } satisfies KeyRecord;
        await reset(quotasFor(deps.config(), stand, p), 'principal', c);
        return principalLimits(p);
      } },
  ];
}

/** For `GET /v1/keys` (and `keygate keys list`): the key's own quota, when it has one. */
export function keyQuotaLookup(deps: Pick<LimitRouteDeps, 'limiter' | 'config'>) {
  return async (k: KeyRecord, p: PrincipalRecord | null): Promise<{ remaining: number; resetsAt: string | null } | null> => {
    if (p === null) return null;
    const d = quotasFor(deps.config(), k, p).find((x) => x.scope === 'key');
    if (d === undefined) return null;
    try {
      const s = await deps.limiter.quotaState(d);
      return { remaining: s.remaining, resetsAt: s.resetsAt === null ? null : new Date(s.resetsAt).toISOString() };
    } catch {
      return null;
    }
  };
}
