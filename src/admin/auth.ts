import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { hashSecret } from '../credentials/hash.ts';
import { AdminError } from '../lifecycle/errors.ts';
import type { Actor } from '../lifecycle/service.ts';
import type { KeyResolver } from '../keystore/resolve.ts';
import type { PrincipalRecord } from '../keystore/types.ts';
import type { Authorizer } from '../authz/authorize.ts';
import { ActionSet } from '../authz/actions.ts';
import { ADMIN_ACTION, ADMIN_ACTIONS, anyAdmin, coversAdmin } from './permissions.ts';
import { csrfMatches, type SessionCredential, type Sessions } from './console/sessions.ts';
import { SESSION_COOKIE, cookie } from './console/cookies.ts';
import { addressBucket } from '../limits/address-bucket.ts';
import type { RefusedCredentials } from '../limits/refused-credentials.ts';
import { clientOf } from '../proxy/client-address.ts';
import type { TrustedPeers } from '../config/types.ts';
import { GatewayError } from '../errors.ts';

export { ADMIN_ACTION };

export interface AdminAuthDeps {
  /** The configured admin token ("" disables token auth). */
  token: () => string;
  /** Secret → store key, as for proxied requests (SHA-256, or HMAC with the pepper). */
  hasher: () => (secret: string) => string;
  resolver: KeyResolver;
  authorizer: () => Authorizer;
  /** A principal by id (console sessions of people re-check theirs on every request). */
  principalById?: (id: string) => Promise<PrincipalRecord | null>;
  /** Console sessions: the `keygate_session` cookie is then a credential too. */
  sessions?: Sessions;
  /**
   * limiter.refusedCredentials for admin credentials (Bearer and the console's sign-in form):
   * wrong ones are counted per client address, as on the proxy, so the admin token cannot be
   * guessed at line rate once the admin listener is reachable (a console for people).
   */
  refused?: RefusedCredentials;
  /** server.trustedProxies: who may name the client in X-Forwarded-For. */
  trusted?: () => TrustedPeers | null;
}

/** An authenticated admin caller: who (for the audit trail) and which admin actions it may take. */
export interface AdminCaller {
  actor: Actor;
  /** Whether the caller may take an admin action (`keygate:admin:keys:write`, …). */
  may(action: string): boolean;
  /** The caller's principal; null for the admin token. */
  principal: Pick<PrincipalRecord, 'id' | 'name' | 'kind'> | null;
  /**
   * Whether the caller's own credential holds an action or action pattern (its principal's
   * roles, narrowed by its key's scopes): what a key it issues for itself may be scoped to.
   */
  holds(action: string): boolean;
  /** The scopes of the key the caller authenticated with (directly or by its session); null: unscoped or not a key. */
  keyScopes: readonly string[] | null;
  /** How it authenticated. A session's writes must carry its CSRF token (checked here). */
  via: 'bearer' | 'session';
}

/** The admin actions a caller may take, as `/v1/me` and the console's session list them. */
export function permissionsOf(caller: AdminCaller): string[] {
  return ADMIN_ACTIONS.filter((a) => caller.may(a));
}

function client(req: IncomingMessage): { client?: string } {
  const a = req.socket.remoteAddress;
  return a === undefined ? {} : { client: a };
}

const EVERYTHING = () => true;

/** A digest to compare tokens by: neither the content nor the length leaks through timing. */
const digest = (s: string): Buffer => Buffer.from(hashSecret(s), 'hex');
const sameSecret = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

/** Whether a grant set covers an action or pattern (`application:*` is covered by `*` or `application:*`). */
function covers(set: ActionSet, action: string): boolean {
  return set.has(action) || (action.startsWith(`${ADMIN_ACTION}`) && coversAdmin(set, action));
}

function principalCaller(p: PrincipalRecord, granted: ActionSet, keyScopes: readonly string[] | null, actor: Actor, via: AdminCaller['via']): AdminCaller {
  const scopes = keyScopes === null ? null : new ActionSet(keyScopes);
  return {
    actor,
    via,
    keyScopes,
    principal: { id: p.id, name: p.name, kind: p.kind },
    may: (action) => coversAdmin(granted, action) && (scopes === null || coversAdmin(scopes, action)),
    holds: (action) => covers(granted, action) && (scopes === null || covers(scopes, action)),
  };
}

/**
 * Admin callers present either the admin token or a keygate key whose principal holds admin
 * actions (see permissions.ts), as `Authorization: Bearer`, or the console's session cookie
 * made from one of those or from an OIDC sign-in. A key's `scopes` narrow the admin API exactly
 * as they narrow proxied routes: a key scoped to `application:view` can do nothing here,
 * whatever its principal holds.
 */
export function createCredentialCheck(deps: AdminAuthDeps) {
  const unauthorized = (why: string, viaSession: boolean) => new AdminError(viaSession ? 'session_required' : 'unauthorized', why);

  function tokenCaller(req: IncomingMessage, via: AdminCaller['via']): AdminCaller {
    return { actor: { name: 'admin-token', ...client(req) }, via, principal: null, keyScopes: null, may: EVERYTHING, holds: EVERYTHING };
  }

  /** `recheck`: the key signed a session in earlier; its failing now ends that session. */
  async function keyCaller(hash: string, req: IncomingMessage, via: AdminCaller['via'], recheck: boolean): Promise<AdminCaller> {
    let r: Awaited<ReturnType<KeyResolver['resolve']>>;
    try {
      r = await deps.resolver.resolve(hash, Date.now());
    } catch {
      throw new AdminError('store_unavailable', 'The key store is unavailable');
    }
    // As on the proxy: a key pair's secret is only ever exchanged for a short-lived token.
    if (r.status !== 'not_found' && r.key.type === 'key_pair') {
      throw new AdminError('key_pair_secret_not_credential', 'A key pair secret is not a credential; exchange it for a short-lived token');
    }
    if (r.status !== 'valid') throw unauthorized(recheck ? 'The key this session was opened with is no longer valid' : 'The admin credential is not valid', recheck);
    const granted = deps.authorizer().actionsOf(r.principal);
    if (!anyAdmin(granted)) throw new AdminError('forbidden', `The principal holds no admin action (${ADMIN_ACTION} or ${ADMIN_ACTION}:…)`);
    const scopes = r.key.scopes ?? null;
    if (scopes !== null && !anyAdmin(new ActionSet(scopes))) throw new AdminError('forbidden', 'The key\'s scopes include no admin action');
    return principalCaller(r.principal, granted, scopes, { name: r.principal.name, id: r.principal.id, keyId: r.key.id, ...client(req) }, via);
  }

  async function personCaller(id: string, req: IncomingMessage): Promise<AdminCaller> {
    let p: PrincipalRecord | null;
    try {
      p = deps.principalById === undefined ? null : await deps.principalById(id);
    } catch {
      throw new AdminError('store_unavailable', 'The key store is unavailable');
    }
    if (p === null || p.disabled || p.kind !== 'user') throw unauthorized('The principal of this session is gone or disabled', true);
    const granted = deps.authorizer().actionsOf(p);
    if (!anyAdmin(granted)) throw new AdminError('forbidden', `The principal holds no admin action (${ADMIN_ACTION} or ${ADMIN_ACTION}:…)`);
    return principalCaller(p, granted, null, { name: p.name, id: p.id, ...client(req) }, 'session');
  }

  /** The bucket the refused-credential limit counts this request in (the proxy's rule). */
  function bucketOf(req: IncomingMessage): string {
    const peer = req.socket.remoteAddress ?? '';
    const trusted = deps.trusted?.() ?? null;
    if (trusted === null || !trusted.has(peer)) return addressBucket(peer);
    const xff = req.headers['x-forwarded-for'];
    return addressBucket(clientOf(Array.isArray(xff) ? xff.join(',') : xff, peer, trusted));
  }

  return {
    /** A presented secret (Bearer, or the console's sign-in form) → the caller, and what a session made from it re-checks. */
    async secret(presented: string, req: IncomingMessage, via: AdminCaller['via']): Promise<{ caller: AdminCaller; credential: SessionCredential }> {
      const token = deps.token();
      const isToken = token !== '' && sameSecret(presented, token);
      const keyHash = deps.hasher()(presented);
      const client = bucketOf(req);
      try {
        // The right admin token, or a key already in memory, is answered even from an address
        // that has spent its budget: only guesses are held back.
        deps.refused?.admit(client, 'admin', () => isToken || deps.resolver.inMemory?.(keyHash) === true);
      } catch (e) {
        if (e instanceof GatewayError) throw new AdminError('too_many_failed_credentials', 'Too many wrong admin credentials from this address; retry later');
        throw e;
      }
      if (isToken) return { caller: tokenCaller(req, via), credential: { type: 'token', tokenDigest: hashSecret(token) } };
      try {
        return { caller: await keyCaller(keyHash, req, via, false), credential: { type: 'key', keyHash } };
      } catch (e) {
        if (e instanceof AdminError && e.code === 'unauthorized') deps.refused?.refused(client);
        throw e;
      }
    },
    /** What signed a session in, checked again now. */
    async session(c: SessionCredential, req: IncomingMessage): Promise<AdminCaller> {
      switch (c.type) {
        case 'token': {
          const token = deps.token();
          if (token === '' || !timingSafeEqual(Buffer.from(c.tokenDigest, 'hex'), digest(token))) throw unauthorized('The admin token changed since this session was opened', true);
          return tokenCaller(req, 'session');
        }
        case 'key': return keyCaller(c.keyHash, req, 'session', true);
        case 'principal': return personCaller(c.principalId, req);
      }
    },
  };
}

export type CredentialCheck = ReturnType<typeof createCredentialCheck>;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Authenticates a /v1 request. `Authorization: Bearer` wins when present (scripts, the CLI);
 * otherwise the console's session cookie. A cookie is sent by the browser on its own, so with it
 * every request that changes something must also carry `X-CSRF-Token`, which only the console's
 * own page (same origin, told the token by the session API) can know.
 */
export function createAdminAuth(deps: AdminAuthDeps, check: CredentialCheck = createCredentialCheck(deps)) {
  return async function authenticateAdmin(req: IncomingMessage): Promise<AdminCaller> {
    const header = req.headers.authorization;
    const sessionCookie = deps.sessions === undefined || header !== undefined ? undefined : cookie(req, SESSION_COOKIE);
    if (sessionCookie !== undefined && deps.sessions !== undefined) {
      let s: Awaited<ReturnType<Sessions['use']>>;
      try {
        s = await deps.sessions.use(sessionCookie);
      } catch {
        throw new AdminError('store_unavailable', 'The session store is unavailable');
      }
      if (s === null) throw new AdminError('session_required', 'The console session ended (signed out, idle or too old); sign in again');
      if (!SAFE_METHODS.has(req.method ?? '')) {
        if (!csrfMatches(req.headers['x-csrf-token'], s.record.csrfToken)) {
          throw new AdminError('csrf_failed', 'A write with the session cookie needs the X-CSRF-Token header the session API gave');
        }
      }
      try {
        return await check.session(s.record.credential, req);
      } catch (e) {
        // What signed the session in is no longer valid: the session ends with it, everywhere.
        if (e instanceof AdminError && e.code === 'session_required') await deps.sessions.end(sessionCookie).catch(() => {});
        throw e;
      }
    }
    const m = /^Bearer[ ]+(\S+)$/i.exec(header ?? '');
    if (m === null) throw new AdminError('unauthorized', 'Send Authorization: Bearer <admin token or admin key>');
    return (await check.secret(m[1] as string, req, 'bearer')).caller;
  };
}
