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

/** What the refused-credential limit counts a request by: its client address, an IPv6 one per /64. */
export function clientBucket(ctx: RequestContext): string {
  return addressBucket(clientAddress(ctx));
}

/** Refusals that say "no such key": unknown or malformed. Expired or revoked keys exist. */
const GUESSES = new Set(['invalid_key', 'invalid_org_key']);

export interface RefusedCredentialsEvents {
  /** A credential refused without a lookup, by the style presented (a bounded label). */
  limited?(style: string): void;
}

/**
 * A token bucket per client address of refused credentials (unknown or malformed keys). Buckets
 * for at most `clients` addresses are kept (least recently seen forgotten), so a spread of
 * source addresses cannot grow memory. Shared by the request chain and the token exchange, so a
 * guesser has one budget whichever door it knocks on.
 */
export function createRefusedCredentials(config: () => LimiterConfig, events: RefusedCredentialsEvents = {}) {
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

  return {
    /**
     * Throws 429 when `client` (a bucket key: clientBucket, addressBucket) has spent its bucket
     * and the answer is not in memory; returns it otherwise.
     */
    admit(client: string, style: string, inMemory: () => boolean): string {
      const now = Date.now();
      const b = level(client, now);
      if (b === undefined || b.tokens >= 1 || inMemory()) return client;
      const rc = config().refusedCredentials;
      const wait = rc === null ? 1 : Math.ceil(((1 - b.tokens) * rc.rate.periodMs) / rc.rate.count / 1000);
      events.limited?.(style);
      throw new GatewayError('too_many_failed_credentials', undefined, { headers: { 'retry-after': String(Math.max(1, wait)) } });
    },
    /** One refused credential from `client` (a bucket key from `admit`). */
    refused(client: string): void {
      const rc = config().refusedCredentials;
      if (rc === null) return;
      const now = Date.now();
      const b = level(client, now);
      if (b === undefined) table(rc.clients).set(client, { tokens: rc.burst - 1, at: now });
      else b.tokens = Math.max(0, b.tokens - 1);
    },
  };
}

export type RefusedCredentials = ReturnType<typeof createRefusedCredentials>;

/**
 * Before the key store is asked: an address that has spent its bucket of refused credentials — a
 * miss storm, a guessing flood — gets 429 `too_many_failed_credentials` without a lookup until
 * the bucket refills, unless the answer is already in memory (a cached key or a cached "no such
 * key" costs the store nothing, so a valid client behind the same NAT keeps working).
 */
export function guardRefusedCredentials(
  resolver: KeyResolver, config: () => LimiterConfig, steps: { extract: Stage; lookup: Stage }, events: RefusedCredentialsEvents = {},
  limiter: RefusedCredentials = createRefusedCredentials(config, events),
): Stage {
  function check(ctx: RequestContext): string | null {
    if (ctx.credential === null && ctx.malformedStyle === null) return null;
    const c = ctx.credential;
    return limiter.admit(clientBucket(ctx), c?.style ?? ctx.malformedStyle ?? 'none', () => c !== null && c.token === undefined && resolver.inMemory?.(c.hash) === true);
  }

  function count(client: string | null, e: unknown): never {
    if (client !== null && e instanceof GatewayError && GUESSES.has(e.code)) limiter.refused(client);
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
      count(client ?? clientBucket(ctx), e);
    }
    if (r !== undefined) return r.catch((e: unknown) => count(client, e));
  };
}
