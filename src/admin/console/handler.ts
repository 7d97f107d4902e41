import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConsoleConfig, CredentialsConfig, KeysConfig, TokensConfig, TrustedPeers } from '../../config/types.ts';
import { AdminError } from '../../lifecycle/errors.ts';
import { StoreUnavailableError } from '../../keystore/types.ts';
import { readJson, sendJson } from '../http.ts';
import { permissionsOf, type AdminCaller, type CredentialCheck } from '../auth.ts';
import { csrfMatches, type SessionCredential, type Sessions } from './sessions.ts';
import { SignInFailure, type OidcLogin } from './oidc.ts';
import { signInFailedLocation, type SignInErrorCode } from './sign-in-errors.ts';
import { LOGIN_COOKIE, SESSION_COOKIE, cookie, secureRequest, setCookie } from './cookies.ts';
import { LOGIN_TTL_MS } from './oidc.ts';
import type { createStaticFiles } from './static.ts';
import type { AdminAudit } from '../../lifecycle/audit.ts';

/**
 * Sent with every /console response. The page loads its own script and style only (no inline
 * code, nothing from elsewhere), talks only to its own origin, cannot be framed, and no
 * browser guesses a type or leaks the console's URLs in a Referer.
 */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export interface ConsoleDeps {
  /** Sign-ins and sign-outs go to the admin audit trail beside the writes made in the session. */
  audit: AdminAudit;
  settings: () => { console: ConsoleConfig; keys: KeysConfig; trusted: TrustedPeers | null; credentials: CredentialsConfig; tokens: TokensConfig };
  sessions: Sessions;
  check: CredentialCheck;
  oidc: OidcLogin | null;
  files: ReturnType<typeof createStaticFiles>;
  version: string;
  /** Why a sign-in failed (the page only gets a code). */
  logger: { info(o: object, m: string): void; error(o: object, m: string): void };
}

const SAFE = new Set(['GET', 'HEAD']);

/** A key lifetime as the admin API's `expiresIn` takes it (`90d`, `12h`): the largest unit that divides it. */
export function lifetime(ms: number | null): string | null {
  if (ms === null) return null;
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.ceil(ms / 1000)}s`;
}

/**
 * `/console/…` on the admin listener: the built page and its assets, the session API the page
 * signs in with, and the OIDC redirects. Everything else the console does goes to /v1 like any
 * other client, with the session cookie as its credential.
 */
/** What a failed sign-in is called on the console's sign-in screen. */
function signInCodeOf(e: unknown): SignInErrorCode {
  if (e instanceof SignInFailure) return e.reason;
  if (e instanceof StoreUnavailableError) return 'oidc_store_unavailable'; // looking the person up
  if (!(e instanceof AdminError)) return 'oidc_internal_error';
  switch (e.code) {
    case 'oidc_unavailable': return 'oidc_unavailable';
    case 'store_unavailable': return 'oidc_store_unavailable';
    case 'forbidden': return 'oidc_no_admin_access'; // roles without any admin action
    case 'session_required': case 'unauthorized': return 'oidc_user_disabled'; // gone or disabled between lookup and session
    default: return 'oidc_internal_error';
  }
}

export function createConsoleHandler(deps: ConsoleDeps) {
  function cookieFlags(req: IncomingMessage) {
    const s = deps.settings();
    return { secure: secureRequest(req, s.console.secureCookies, s.trusted), sameSite: 'Strict' as const, path: '/' };
  }

  /** The session API's body: who, what they may do, and the CSRF token for /v1 writes. */
  function sessionBody(caller: AdminCaller, csrfToken: string, expiresAt: number) {
    return { principal: caller.principal, permissions: permissionsOf(caller), csrfToken, expiresAt: new Date(expiresAt).toISOString() };
  }

  /**
   * A new session, always with a new cookie value (no fixation: a value planted before sign-in
   * is never promoted). A session the browser still held is ended first.
   */
  async function open(req: IncomingMessage, res: ServerResponse, caller: AdminCaller, credential: SessionCredential): Promise<{ csrfToken: string; expiresAt: number }> {
    const previous = cookie(req, SESSION_COOKIE);
    const { cookieValue, record, expiresAt } = await (async () => {
      if (previous !== undefined) await deps.sessions.end(previous);
      return deps.sessions.create(credential);
    })().catch(() => {
      throw new AdminError('store_unavailable', 'The session store is unavailable');
    });
    res.appendHeader('set-cookie', setCookie(SESSION_COOKIE, cookieValue, cookieFlags(req)));
    deps.audit.record(caller.actor, 'console.sign_in', caller.principal?.id ?? 'admin-token', { method: credential.type === 'principal' ? 'oidc' : credential.type });
    return { csrfToken: record.csrfToken, expiresAt };
  }

  /** The browser's live session, re-checked; an ended one is removed and its cookie cleared. */
  async function current(req: IncomingMessage, res: ServerResponse): Promise<{ caller: AdminCaller; csrfToken: string; expiresAt: number }> {
    const value = cookie(req, SESSION_COOKIE);
    if (value === undefined) throw new AdminError('session_required', 'Not signed in');
    const s = await deps.sessions.use(value).catch(() => {
      throw new AdminError('store_unavailable', 'The session store is unavailable');
    });
    if (s === null) {
      res.appendHeader('set-cookie', setCookie(SESSION_COOKIE, '', { ...cookieFlags(req), maxAge: 0 }));
      throw new AdminError('session_required', 'The session ended (signed out, idle or too old); sign in again');
    }
    try {
      return { caller: await deps.check.session(s.record.credential, req), csrfToken: s.record.csrfToken, expiresAt: s.expiresAt };
    } catch (e) {
      if (e instanceof AdminError && e.status === 401) {
        await deps.sessions.end(value).catch(() => {});
        res.appendHeader('set-cookie', setCookie(SESSION_COOKIE, '', { ...cookieFlags(req), maxAge: 0 }));
      }
      throw e;
    }
  }

  async function api(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    // A page on another site may send requests here (a form post, a fetch without CORS); the
    // browser says so. JSON-only bodies already stop forms; this stops the rest.
    if (!SAFE.has(method) && req.headers['sec-fetch-site'] === 'cross-site') throw new AdminError('csrf_failed', 'Cross-site requests are refused');
    if (path === '/console/api/config' && SAFE.has(method)) {
      const s = deps.settings();
      return sendJson(res, 200, {
        oidc: { enabled: deps.oidc !== null, loginUrl: '/console/oidc/login' },
        keys: { maxPerPrincipal: s.keys.maxPerPrincipal, defaultLifetime: lifetime(s.keys.defaultLifetimeMs), maxLifetime: lifetime(s.keys.maxLifetimeMs) },
        // How a new key is sent (names, never secrets), so the page can show connection details
        // for it: Contrast's service-key header pair, Okta ASA's token exchange.
        credentials: {
          serviceKey: { enabled: s.credentials.serviceKey.enabled, orgHeader: s.credentials.serviceKey.orgHeader },
          tokens: { enabled: s.tokens.enabled, path: s.tokens.path },
        },
        version: deps.version,
      });
    }
    if (path !== '/console/api/session') throw new AdminError('not_found', 'No such console endpoint');
    if (SAFE.has(method)) {
      const c = await current(req, res);
      return sendJson(res, 200, sessionBody(c.caller, c.csrfToken, c.expiresAt));
    }
    if (method === 'POST') {
      const body = await readJson(req);
      const token = body['token'];
      if (typeof token !== 'string' || token === '' || token.length > 1024 || Object.keys(body).length !== 1) {
        throw new AdminError('invalid_input', 'Send {"token": "<admin token or admin key>"}', 'token');
      }
      const { caller, credential } = await deps.check.secret(token, req, 'session');
      const s = await open(req, res, caller, credential);
      return sendJson(res, 200, sessionBody(caller, s.csrfToken, s.expiresAt));
    }
    if (method === 'DELETE') {
      const value = cookie(req, SESSION_COOKIE);
      const s = value === undefined ? null : await deps.sessions.use(value).catch(() => {
        throw new AdminError('store_unavailable', 'The session store is unavailable');
      });
      if (s !== null && value !== undefined) {
        const sent = req.headers['x-csrf-token'];
        if (!csrfMatches(sent, s.record.csrfToken)) throw new AdminError('csrf_failed', 'Sign-out needs the X-CSRF-Token header the session API gave');
        await deps.sessions.end(value);
        // Who signed out, as far as it can still be told (the key may have been expired meanwhile).
        const who = await deps.check.session(s.record.credential, req).catch(() => null);
        const a = req.socket.remoteAddress;
        const actor = who?.actor ?? { name: 'console', ...(a === undefined ? {} : { client: a }) };
        deps.audit.record(actor, 'console.sign_out', who === null ? 'unknown' : who.principal?.id ?? 'admin-token', {});
      }
      res.writeHead(204, { 'cache-control': 'no-store', 'set-cookie': setCookie(SESSION_COOKIE, '', { ...cookieFlags(req), maxAge: 0 }) });
      return void res.end();
    }
    throw new AdminError('method_not_allowed', `${method} is not allowed here`);
  }

  /**
   * A person's browser whose sign-in failed goes back to the console's sign-in screen with a
   * stable code (sign-in-errors.ts), not to a JSON page: the reason is in the gateway log, and
   * nothing the provider wrote is reflected.
   */
  function backToSignIn(res: ServerResponse, e: unknown): void {
    const code = signInCodeOf(e);
    if (code === 'oidc_internal_error') deps.logger.error({ err: e }, 'OIDC sign-in failed');
    else deps.logger.info({ code, reason: e instanceof Error ? e.message : String(e) }, 'OIDC sign-in failed');
    res.writeHead(302, { location: signInFailedLocation(code), 'cache-control': 'no-store' });
    res.end();
  }

  async function oidc(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const o = deps.oidc;
    if (o === null) throw new AdminError('not_found', 'OpenID Connect sign-in is not configured (console.oidc)');
    if (!SAFE.has(req.method ?? '')) throw new AdminError('method_not_allowed', `${req.method} is not allowed here`);
    const login = { ...cookieFlags(req), sameSite: 'Lax' as const, path: '/console/oidc/' };
    if (url.pathname === '/console/oidc/login') {
      let begun: Awaited<ReturnType<OidcLogin['begin']>>;
      try {
        begun = await o.begin();
      } catch (e) {
        return backToSignIn(res, e);
      }
      res.writeHead(302, { location: begun.location, 'cache-control': 'no-store', 'set-cookie': setCookie(LOGIN_COOKIE, begun.binding, { ...login, maxAge: LOGIN_TTL_MS / 1000 }) });
      return void res.end();
    }
    if (url.pathname === '/console/oidc/callback') {
      res.appendHeader('set-cookie', setCookie(LOGIN_COOKIE, '', { ...login, maxAge: 0 }));
      const a = req.socket.remoteAddress;
      try {
        const p = await o.complete(cookie(req, LOGIN_COOKIE), url.searchParams, { name: 'oidc', ...(a === undefined ? {} : { client: a }) });
        const credential: SessionCredential = { type: 'principal', principalId: p.id };
        // Refused here (no admin action at all) rather than after landing on an empty console.
        await open(req, res, await deps.check.session(credential, req), credential);
      } catch (e) {
        return backToSignIn(res, e);
      }
      res.writeHead(302, { location: '/console/', 'cache-control': 'no-store' });
      return void res.end();
    }
    throw new AdminError('not_found', 'No such console endpoint');
  }

  return async function handleConsole(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    for (const [k, v] of Object.entries(CONSOLE_HEADERS)) res.setHeader(k, v);
    const path = url.pathname;
    if (path.startsWith('/console/api/')) return api(req, res, path);
    if (path.startsWith('/console/oidc/')) return oidc(req, res, url);
    if (!SAFE.has(req.method ?? '')) throw new AdminError('method_not_allowed', `${req.method} is not allowed here`);
    if (path === '/console') {
      res.writeHead(301, { location: '/console/', 'cache-control': 'no-store' });
      return void res.end();
    }
    if (!(await deps.files.built())) {
      throw new AdminError('console_not_built', 'The console is not built in this checkout: run `node scripts/build-console.ts` (the npm package and the image ship it built)');
    }
    if (path === '/console/' || path === '/console/index.html') return deps.files.index(req, res);
    if (path.startsWith('/console/assets/')) return deps.files.asset(req, res, path.slice('/console/assets/'.length));
    throw new AdminError('not_found', 'No such console file');
  };
}
