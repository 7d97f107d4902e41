import { LRUCache } from 'lru-cache';
import type { DecisionContext as RequestContext } from '../context.ts';
import type { LimiterConfig } from '../config/types.ts';
import type { KeyResolver } from '../keystore/resolve.ts';
import type { Stage } from '../stages.ts';
import { GatewayError } from '../errors.ts';
import { clientOf } from '../proxy/client-address.ts';
import { addressBucket } from './address-bucket.ts';

/** The client's address: the peer, or behind `server.trustedProxies` the original client. */
export function clientAddress(ctx: RequestContext): string {
  const peer = ctx.req.socket?.remoteAddress ?? '';
  const trusted = ctx.gen.config.server.trusted;
  if (trusted === null || !trusted.has(peer)) return peer;
  const xff = ctx.req.headers['x-forwarded-for'];
  return clientOf(Array.isArray(xff) ? xff.join(',') : xff, peer, trusted);
}

/** Refusals that say "no such key": unknown or malformed. Expired or revoked keys exist. */
const GUESSES = new Set(['invalid_key', 'invalid_org_key']);

export interface RefusedCredentialsEvents {
  /** A credential refused without a lookup, by the style presented (a bounded label). */
  limited?(style: string): void;
}

/**
 * Before the key store is asked: a token bucket per client address of refused credentials
 * (unknown or malformed keys). An address that has spent it — a miss storm, a guessing flood —
 * gets 429 `too_many_failed_credentials` without a lookup until the bucket refills, unless the
 * answer is already in memory (a cached key or a cached "no such key" costs the store nothing,
 * so a valid client behind the same NAT keeps working). Buckets for at most `clients` addresses
 * are kept (least recently seen forgotten), so a spread of source addresses cannot grow memory.
 */
export function guardRefusedCredentials(
  resolver: KeyResolver, config: () => LimiterConfig, steps: { extract: Stage; lookup: Stage }, events: RefusedCredentialsEvents = {},
): Stage {
  let buckets: LRUCache<string, { tokens: number; at: number }> | null = null;
  let size = 0;
  const table = (clients: number) => {
    if (buckets === null || size !== clients) {
      buckets = new LRUCache({ max: clients });
      size = clients;
    }
    return buckets;
  };

  /** The bucket refilled to now; undefined when the address has no refusal on record. */
  function level(client: string, now: number): { tokens: number; at: number } | undefined {
    const rc = config().refusedCredentials;
    if (rc === null) return undefined;
    const b = table(rc.clients).get(client);
    if (b === undefined) return undefined;
    b.tokens = Math.min(rc.burst, b.tokens + ((now - b.at) * rc.rate.count) / rc.rate.periodMs);
    b.at = now;
    return b;
  }

  function refused(client: string, now: number): void {
    const rc = config().refusedCredentials;
    if (rc === null) return;
    const b = level(client, now);
    if (b === undefined) table(rc.clients).set(client, { tokens: rc.burst - 1, at: now });
    else b.tokens = Math.max(0, b.tokens - 1);
  }

  function check(ctx: RequestContext): string | null {
    if (ctx.credential === null && ctx.malformedStyle === null) return null;
    const client = addressBucket(clientAddress(ctx));
    const now = Date.now();
    const b = level(client, now);
    if (b === undefined || b.tokens >= 1) return client;
    const c = ctx.credential;
    if (c !== null && c.token === undefined && resolver.inMemory?.(c.hash) === true) return client;
    const rc = config().refusedCredentials;
    const wait = rc === null ? 1 : Math.ceil(((1 - b.tokens) * rc.rate.periodMs) / rc.rate.count / 1000);
    events.limited?.(c?.style ?? ctx.malformedStyle ?? 'none');
    throw new GatewayError('too_many_failed_credentials', undefined, { headers: { 'retry-after': String(Math.max(1, wait)) } });
  }

  function count(client: string | null, e: unknown): never {
    if (client !== null && e instanceof GatewayError && GUESSES.has(e.code)) refused(client, Date.now());
    throw e;
  }

  return function refusedCredentialsStage(ctx) {
    // Extract, check the address, look up; a refusal of either step is counted.
    let client: string | null = null;
    let r: void | Promise<void>;
    try {
      const x = steps.extract(ctx);
      if (x instanceof Promise) {
        return x.then(() => {
          client = check(ctx);
          return steps.lookup(ctx);
        }).catch((e: unknown) => count(client, e));
      }
      client = check(ctx);
      r = steps.lookup(ctx);
    } catch (e) {
      count(client ?? addressBucket(clientAddress(ctx)), e);
    }
    if (r !== undefined) return r.catch((e: unknown) => count(client, e));
  };
}
