import type * as OpenId from 'openid-client';
import type { ConsoleOidcConfig } from '../../config/types.ts';
import type { PrincipalRecord } from '../../keystore/types.ts';
import type { Actor, NewPrincipal } from '../../lifecycle/service.ts';
import { AdminError } from '../../lifecycle/errors.ts';
import type { SessionStore } from './session-store.ts';
import { randomToken, storeId } from './sessions.ts';
import type { SignInErrorCode } from './sign-in-errors.ts';

export interface OidcDeps {
  store: SessionStore;
  findByName(name: string): Promise<PrincipalRecord | null>;
  list(): Promise<PrincipalRecord[]>;
  create(p: NewPrincipal, actor: Actor): Promise<PrincipalRecord>;
  logger: { warn(o: object, m: string): void; info(o: object, m: string): void };
}

/** A login begun and not yet come back: what the callback must check it against. */
interface Pending {
  state: string;
  nonce: string;
  verifier: string;
}

const NS = 'oidc';
/** Time allowed between the redirect to the provider and the way back. */
export const LOGIN_TTL_MS = 10 * 60_000;

/** Plain-HTTP issuers are accepted on loopback only (a provider in tests or on a laptop). */
function loopback(u: URL): boolean {
  return u.hostname === '127.0.0.1' || u.hostname === '[::1]' || u.hostname === 'localhost';
}

/** The admin API's principal name rule (v1/schemas.ts). */
const PRINCIPAL_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/**
 * A sign-in refused for a reason the console names (sign-in-errors.ts). Still an `oidc_failed`
 * AdminError for the log; `message` may carry the provider's words, the redirect never does.
 */
export class SignInFailure extends AdminError {
  readonly reason: SignInErrorCode;
  constructor(reason: SignInErrorCode, message: string) {
    super('oidc_failed', message);
    this.reason = reason;
  }
}

const failed = (reason: SignInErrorCode, why: string) => new SignInFailure(reason, why);

/** The provider's `error` parameter → the console's code: a person saying no is not a fault. */
function providerFailure(e: unknown): SignInErrorCode {
  if (e instanceof client.AuthorizationResponseError) return e.error === 'access_denied' ? 'oidc_denied' : 'oidc_provider_error';
  // oauth4webapi checks `state` before anything else in the response (RFC 6749 §10.12); openid-client
  // wraps its refusal ("invalid response encountered"), the original, naming "state", is the cause.
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 4; c = c.cause, depth++) {
    if (/"state"/.test(c.message)) return 'oidc_state_mismatch';
  }
  return 'oidc_verification_failed';
}

/**
 * openid-client, imported with the first login's discovery rather than with the program: most
 * gateways never configure OIDC, and it (with oauth4webapi) is RSS held for nothing (issue 12).
 * Every use below runs after `await configuration()`, which sets it.
 */
let client: typeof OpenId;
let loading: Promise<typeof OpenId> | null = null;
const openid = (): Promise<typeof OpenId> => (loading ??= import('openid-client').then((m) => (client = m)));

/**
 * OpenID Connect sign-in for people (issue 15): authorization code flow with PKCE (RFC 7636),
 * `state` and `nonce`, by openid-client. The provider's metadata is discovered on first use and
 * kept; a failed discovery is retried on the next login. What the callback checks against lives
 * server-side, in the session store under the hash of a random value the browser holds in a
 * cookie: a callback is accepted once, and only in the browser that started the login.
 */
export function createOidcLogin(cfg: ConsoleOidcConfig, deps: OidcDeps) {
  const issuer = new URL(cfg.issuer);
  if (issuer.protocol !== 'https:' && !loopback(issuer)) throw new Error(`console.oidc.issuer: ${cfg.issuer} must be https (plain http only on loopback)`);
  let discovered: Promise<OpenId.Configuration> | null = null;

  function configuration(): Promise<OpenId.Configuration> {
    discovered ??= openid().then((client) => client.discovery(
      issuer, cfg.clientId, cfg.clientSecret === '' ? undefined : cfg.clientSecret,
      cfg.clientSecret === '' ? client.None() : undefined,
      issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : undefined,
    )).catch((e: unknown) => {
      discovered = null;
      deps.logger.warn({ issuer: cfg.issuer, err: e instanceof Error ? e.message : String(e) }, 'OIDC discovery failed');
      throw new AdminError('oidc_unavailable', 'The OpenID Connect provider could not be reached (discovery failed); try again');
    });
    return discovered;
  }

  /** The principal a verified claim names; created when configured. */
  async function principalFor(value: string, actor: Actor): Promise<PrincipalRecord> {
    const f = cfg.principalField;
    const found = f.type === 'name'
      ? await deps.findByName(value)
      : (await deps.list()).find((p) => p.kind === 'user' && p.metadata[f.field] === value) ?? null;
    if (found !== null) {
      if (found.kind !== 'user') throw failed('oidc_not_user', `"${value}" is a service principal; only user principals sign in to the console`);
      if (found.disabled) throw failed('oidc_user_disabled', `Principal "${found.name}" is disabled`);
      return found;
    }
    if (!cfg.createUsers) throw failed('oidc_unknown_user', `No user principal for ${cfg.claim} "${value}"; an administrator must create it first`);
    // Principal names are header-safe (schemas.ts). Matched by name, the claim must be one;
    // matched in metadata, the name is only a label and is made safe.
    let name = value;
    if (!PRINCIPAL_NAME.test(value)) {
      if (f.type === 'name') throw failed('oidc_name_invalid', `${cfg.claim} "${value}" cannot be a principal name; match it in metadata (console.oidc.principalField: metadata.<field>)`);
      name = value.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9._@-]/g, '-').slice(0, 128) || 'oidc-user';
    }
    try {
      return await deps.create({
        name, kind: 'user', roles: cfg.defaultRole === '' ? [] : [cfg.defaultRole],
        ...(f.type === 'metadata' ? { metadata: { [f.field]: value } } : {}),
      }, actor);
    } catch (e) {
      if (e instanceof AdminError && e.code === 'conflict') throw failed('oidc_principal_conflict', `A principal named "${value}" exists but does not match this sign-in`);
      throw e;
    }
  }

  return {
    /** Starts a login: the provider's authorization URL, and the value for the browser's login cookie. */
    async begin(): Promise<{ location: string; binding: string }> {
      const config = await configuration();
      const pending: Pending = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier() };
      const binding = randomToken();
      // Anyone may start a login: bounded, so a flood cannot fill the Redis that holds the keys.
      if (!(await deps.store.putBounded(NS, storeId(binding), JSON.stringify(pending), LOGIN_TTL_MS))) {
        throw new AdminError('oidc_unavailable', 'Too many sign-ins were started in the last minutes; try again shortly');
      }
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: cfg.redirectUri,
        scope: cfg.scopes.join(' '),
        code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
        code_challenge_method: 'S256',
        state: pending.state,
        nonce: pending.nonce,
      });
      return { location: url.href, binding };
    },

    /**
     * The provider's redirect back: the code exchanged and the ID token verified (signature,
     * issuer, audience, expiry, nonce), then the configured claim mapped to a user principal.
     */
    async complete(binding: string | undefined, query: URLSearchParams, actor: Actor): Promise<PrincipalRecord> {
      if (binding === undefined || !/^[A-Za-z0-9_-]{43}$/.test(binding)) throw failed('oidc_no_login', 'No login in progress in this browser (start again from the console)');
      const raw = await deps.store.take(NS, storeId(binding));
      if (raw === null) throw failed('oidc_login_expired', 'This login expired or was already used; start again from the console');
      const pending = JSON.parse(raw) as Pending;
      const config = await configuration();
      const current = new URL(cfg.redirectUri);
      current.search = query.toString();
      let claims: Record<string, unknown> & { sub: string };
      try {
        const tokens = await client.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true,
        }, { redirect_uri: cfg.redirectUri });
        const id = tokens.claims();
        if (id === undefined) throw new Error('the provider returned no ID token');
        claims = id;
        // Providers that follow OIDC Core §5.4 strictly put scope-requested claims (email) in
        // UserInfo rather than the ID token; ask there, for the same subject only.
        if (cfg.claim === 'email' && id['email'] === undefined) claims = { ...(await client.fetchUserInfo(config, tokens.access_token, id.sub)), sub: id.sub };
      } catch (e) {
        // The provider's own words (access_denied, invalid_grant, a state mismatch) help; no token material is in them.
        const why = e instanceof Error ? `${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ''}` : String(e);
        // The provider's description is logged, never sent to the page (it is the provider's text, not ours).
        const description = e instanceof client.AuthorizationResponseError ? { error: e.error, description: e.error_description } : {};
        deps.logger.info({ reason: why, ...description }, 'OIDC sign-in refused');
        throw failed(providerFailure(e), `The sign-in could not be verified: ${why}`);
      }
      let value: unknown;
      if (cfg.claim === 'email') {
        if (claims['email_verified'] !== true) throw failed('oidc_email_unverified', 'The provider does not say this email address is verified');
        value = claims['email'];
      } else value = claims.sub;
      if (typeof value !== 'string' || value === '') throw failed('oidc_claim_missing', `The ID token has no ${cfg.claim} claim`);
      return principalFor(value, actor);
    },
  };
}

export type OidcLogin = ReturnType<typeof createOidcLogin>;
