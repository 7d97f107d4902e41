import type { RequestContext } from '../context.ts';
import { GatewayError } from '../errors.ts';
import type { KeyResolver, Resolution } from '../keystore/resolve.ts';
import type { Invalidation } from '../keystore/types.ts';
import type { WebSocketSession } from './websocket.ts';

/** RFC 6455 §7.4.1: the endpoint's policy no longer allows this session. */
export const WS_POLICY_VIOLATION = 1008;
/** RFC 6455 §7.4 (IANA registry): the key store cannot vouch for the credential right now. */
export const WS_TRY_AGAIN_LATER = 1013;

const REASONS: Record<Exclude<Resolution['status'], 'valid'>, string> = {
  not_found: 'key_deleted',
  expired: 'key_expired',
  revoked: 'key_revoked',
  principal_disabled: 'principal_disabled',
};

interface Tracked {
  session: WebSocketSession;
  principalId: string;
  /** The hash the key is stored under (for a token: of the key it was minted from). */
  keyHash: string;
  keyId: string;
  /** Tokens are resolved by key id, and must keep naming the key's principal. */
  token: boolean;
  expiry: NodeJS.Timeout | undefined;
  failures: number;
}

export interface SessionDeps {
  resolver: KeyResolver;
  /** While true, sessions are re-checked every second: invalidations may not be reaching us. */
  storeDown: () => boolean;
  /** A session was ended, with why (`key_revoked`, …, `store_unavailable`). */
  onEnded?: (ctx: { principalId: string; keyId: string }, reason: string) => void;
  /** A re-check failed for another reason than the store (a bug): the session is kept. */
  onFault?: (e: unknown) => void;
  now?: () => number;
}

/** setTimeout takes at most 2^31-1 ms; a later expiry is re-armed when that fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Open WebSocket sessions by credential. A handshake is authorized once, but the session may
 * last hours: each one is re-judged whenever its key or principal changes (the same
 * invalidations that reach every replica's cache), when its key's expiry comes (a timer, since
 * nothing is published when a clock passes a date) and after a cache flush — and ended with a
 * Close frame when the answer is no longer `valid` (issue 10, item 6).
 */
export function createWebSocketSessions(deps: SessionDeps) {
  const now = deps.now ?? Date.now;
  const sessions = new Set<Tracked>();
  const sweep = setInterval(() => {
    if (deps.storeDown()) recheckAll();
  }, 1000);
  sweep.unref();

  function end(s: Tracked, code: number, reason: string): void {
    if (!sessions.delete(s)) return;
    clearTimeout(s.expiry);
    s.session.end(code, reason);
    deps.onEnded?.({ principalId: s.principalId, keyId: s.keyId }, reason);
  }

  function verdict(s: Tracked, r: Resolution): void {
    if (!sessions.has(s)) return;
    s.failures = 0;
    if (r.status !== 'valid') {
      end(s, WS_POLICY_VIOLATION, REASONS[r.status]);
      return;
    }
    if (s.token && r.principal.id !== s.principalId) {
      end(s, WS_POLICY_VIOLATION, 'key_deleted');
      return;
    }
    s.keyHash = r.key.hash;
    // The next moment the answer changes by itself: the key's expiry (or a revocation dated ahead).
    const t = now();
    const at = [r.key.expiresAt, r.key.revokedAt].map((d) => d?.getTime()).filter((v): v is number => v !== undefined && v > t);
    clearTimeout(s.expiry);
    s.expiry = undefined;
    if (at.length > 0) {
      s.expiry = setTimeout(() => recheck(s), Math.min(Math.min(...at) - t + 1, MAX_TIMER_MS));
      s.expiry.unref();
    }
  }

  /** The store could not answer: retry once a second later; a second failure ends the session, as a request would be refused. */
  function failed(s: Tracked, e: unknown): void {
    if (!sessions.has(s)) return;
    if (!(e instanceof GatewayError) || e.code !== 'keystore_unavailable') return void deps.onFault?.(e);
    if (++s.failures >= 2) {
      end(s, WS_TRY_AGAIN_LATER, 'store_unavailable');
      return;
    }
    setTimeout(() => recheck(s), 1000).unref();
  }

  function recheck(s: Tracked): void {
    if (!sessions.has(s)) return;
    const t = now();
    let r: Resolution | Promise<Resolution>;
    try {
      r = s.token ? deps.resolver.resolveId(s.keyId, t) : deps.resolver.resolve(s.keyHash, t);
    } catch (e) {
      failed(s, e);
      return;
    }
    if (r instanceof Promise) r.then((v) => verdict(s, v), (e: unknown) => failed(s, e));
    else verdict(s, r);
  }

  function recheckAll(): void {
    for (const s of [...sessions]) recheck(s);
  }

  return {
    /** Tracks an authenticated session; returns the function that forgets it (on close). */
    opened(ctx: RequestContext, session: WebSocketSession): () => void {
      if (ctx.principal === null || ctx.key === null || ctx.credential === null) return () => {}; // a public route
      const s: Tracked = {
        session, principalId: ctx.principal.id, keyHash: ctx.key.hash, keyId: ctx.key.id,
        token: ctx.credential.token !== undefined, expiry: undefined, failures: 0,
      };
      sessions.add(s);
      // Judged again now: the key may have changed between the handshake and the upstream's 101.
      recheck(s);
      return () => {
        sessions.delete(s);
        clearTimeout(s.expiry);
      };
    },
    invalidated(inv: Invalidation): void {
      for (const s of [...sessions]) {
        const hit = inv.type === 'all'
          || (inv.type === 'key' && inv.hash === s.keyHash)
          || (inv.type === 'principal' && inv.id === s.principalId);
        if (hit) recheck(s);
      }
    },
    recheckAll,
    size: () => sessions.size,
    close(): void {
      clearInterval(sweep);
      for (const s of sessions) clearTimeout(s.expiry);
      sessions.clear();
    },
  };
}

export type WebSocketSessions = ReturnType<typeof createWebSocketSessions>;
