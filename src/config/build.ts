import { createHash } from 'node:crypto';
import type { AuditConfig, CheckConfig, ConsoleConfig, ConsoleOidcConfig, KeysConfig, WebhookConfig, CredentialStyleName, CredentialsConfig, GatewayConfig, IdentityConfig, StoreConfig, TokensConfig } from './types.ts';
import { bool, defined, duration, list, num, obj, str, strings, type Obj, type Report } from './raw.ts';
import { parseDuration } from './duration.ts';
import { buildRoutes, buildUpstreams } from './build-routes.ts';
import { KeyRegistry, buildOrgs, buildPrincipals, buildRoles } from './build-principals.ts';
import { buildHeaders, buildTrustedPeers } from './build-headers.ts';
import { buildLimiter, buildLimits, checkLimitRefs } from './build-limits.ts';

/**
 * Schema-checked, defaulted data → the typed config, with every rule the schema cannot express
 * (references between sections, uniqueness, URL and path shapes, duration limits). Problems go
 * to `report`; the returned object is only meaningful when none were reported.
 */
export function buildConfig(data: Obj, file: string, report: Report, lineOf: (path: string) => number): GatewayConfig {
  const server = obj(data['server']);
  const admin = obj(data['admin']);
  const keys = obj(data['keys']);
  const tokens = buildTokens(obj(data['tokens']), report);
  const credentials = buildCredentials(obj(data['credentials']));
  if (credentials.body.maxBufferedBytes < credentials.body.maxBytes) {
    report('/credentials/body/maxBufferedBytes', `smaller than maxBytes (${credentials.body.maxBytes}): no body of the largest size allowed could ever be read`);
  }
  const roles = buildRoles(obj(data['roles']));
  const registry = new KeyRegistry(str(keys['pepper']), report, lineOf);
  const orgs = buildOrgs(obj(data['orgs']), registry);
  // Only a decision-only deployment (a `check` section) may have nothing to forward to.
  if (data['upstreams'] === undefined && data['check'] === undefined) report('/upstreams', 'missing required field "upstreams"');
  const upstreams = buildUpstreams(obj(data['upstreams']), report);
  const caseSensitivePaths = bool(server['caseSensitivePaths']);
  const config: GatewayConfig = {
    file,
    server: {
      port: num(server['port']),
      host: str(server['host']),
      headersTimeoutMs: duration(server['headersTimeout'], '/server/headersTimeout', report),
      requestTimeoutMs: duration(server['requestTimeout'], '/server/requestTimeout', report),
      keepAliveTimeoutMs: duration(server['keepAliveTimeout'], '/server/keepAliveTimeout', report),
      drainTimeoutMs: duration(server['drainTimeout'], '/server/drainTimeout', report),
      workers: server['workers'] === 'auto' ? 'auto' : num(server['workers']),
      maxHeaderBytes: num(server['maxHeaderBytes']),
      maxHeaders: num(server['maxHeaders']),
      trustedProxies: strings(server['trustedProxies']),
      trusted: buildTrustedPeers(strings(server['trustedProxies']), report),
      headers: buildHeaders(obj(server['headers']), report),
      caseSensitivePaths,
      pathSemicolons: server['pathSemicolons'] === 'allow' ? 'allow' : 'reject',
    },
    admin: { port: num(admin['port']), host: str(admin['host']), token: str(admin['token']) },
    check: buildCheck(data['check'], obj(data['audit'])['enabled'] !== false, report),
    store: buildStore(obj(data['store']), report),
    identity: buildIdentity(obj(data['identity']), report),
    credentials,
    keys: buildKeys(keys, report),
    tokens,
    orgs,
    roles,
    limits: buildLimits(obj(data['limits']), report),
    limiter: buildLimiter(obj(data['limiter'])),
    upstreams,
    routes: buildRoutes(list(data['routes']), { upstreams, enabled: enabledStyles(credentials, tokens), caseSensitive: caseSensitivePaths, checkEnabled: data['check'] !== undefined, report, lineOf }),
    principals: buildPrincipals(list(data['principals']), roles, registry, report, lineOf),
    audit: buildAudit(obj(data['audit']), report),
    webhooks: buildWebhooks(list(data['webhooks']), report),
    console: buildConsole(obj(data['console']), roles, report),
    log: { level: str(obj(data['log'])['level']) as GatewayConfig['log']['level'] },
  };
  checkLimitRefs(config, report);
  checkWorkersStore(config, report);
  return config;
}

/**
 * More than one worker needs a store the workers share. The embedded store holds keys, the
 * audit ring, usage counts, limiter buckets, console sessions and the webhook queue in one
 * process's memory: N workers would be N diverging gateways (a key revoked through the admin
 * API would still work on the other workers). Refused here, not at startup, so `check-config`
 * says so too — and `auto` is refused even on a one-core machine, so a file never starts
 * working or failing depending on where it runs.
 */
function checkWorkersStore(config: GatewayConfig, report: Report): void {
  const w = config.server.workers;
  const embedded = config.store.redis === '' && config.store.sentinel === null && config.store.cluster === null;
  if (embedded && w !== 1) {
    report('/server/workers', `workers: ${String(w)} needs a Redis store (store.redis, store.sentinel or store.cluster): the embedded store's keys, audit trail, usage counts and rate-limit buckets live in one process, so other workers would not see a revocation; use workers: 1 or run replicas on Redis`);
  }
}

/** Absent section: the check listener is off. The schema fills the defaults of a present one. */
function buildCheck(raw: unknown, audited: boolean, report: Report): CheckConfig {
  const c = obj(raw);
  const trustedClients = raw === undefined ? ['127.0.0.0/8', '::1'] : strings(c['trustedClients']);
  const nobody = { has: () => false };
  return {
    enabled: raw !== undefined,
    port: num(c['port']),
    host: str(c['host']),
    grpcPort: typeof c['grpcPort'] === 'number' ? c['grpcPort'] : null,
    pathPrefix: str(c['pathPrefix']),
    trustedClients,
    trusted: buildTrustedPeers(trustedClients, report, '/check/trustedClients') ?? nobody,
    withRequestBody: c['withRequestBody'] === true,
    // Unset: refusals only while the audit trail records every decision, else every one: an
    // allowed decision is never left without a record of its own (docs/forward-auth.md).
    accessLog: c['accessLog'] === 'all' || c['accessLog'] === 'refusals' ? c['accessLog'] : audited ? 'refusals' : 'all',
  };
}

/** Lifetimes are compared with dates, never waited on by a timer: no 24-day cap. */
function buildKeys(raw: Obj, report: Report): KeysConfig {
  const lifetime = (field: string): number | null => {
    const text = str(raw[field]);
    if (text === '') return null;
    const ms = parseDuration(text);
    if (ms === null || ms <= 0) report(`/keys/${field}`, 'must be a positive duration like 90d');
    return ms;
  };
  const maxLifetimeMs = lifetime('maxLifetime');
  const defaultLifetimeMs = lifetime('defaultLifetime');
  if (maxLifetimeMs !== null && defaultLifetimeMs !== null && defaultLifetimeMs > maxLifetimeMs) {
    report('/keys/defaultLifetime', `longer than keys.maxLifetime (${str(raw['maxLifetime'])}): every key created without expiresIn would be refused`);
  }
  const expiryCheckIntervalMs = duration(raw['expiryCheckInterval'], '/keys/expiryCheckInterval', report);
  if (expiryCheckIntervalMs < 100) report('/keys/expiryCheckInterval', 'at least 100ms: each check lists every key');
  return {
    prefix: str(raw['prefix']), maxPerPrincipal: num(raw['maxPerPrincipal']), pepper: str(raw['pepper']),
    maxLifetimeMs, defaultLifetimeMs, requireExpiry: bool(raw['requireExpiry']), expiryCheckIntervalMs,
  };
}

/**
 * Names default to the URL's host and a digest of its path. The name is shown (delivery log,
 * metrics labels, logs), and the path of a capability URL is the receiver's secret (Zapier's
 * `/hooks/catch/<id>/<token>/`, Discord's, Slack's), as credentials and the query may be.
 */
export function defaultWebhookName(url: URL): string {
  return url.pathname === '/' ? url.host : `${url.host}-${createHash('sha256').update(url.pathname).digest('hex').slice(0, 8)}`;
}


function buildWebhooks(raw: unknown[], report: Report): WebhookConfig[] {
  const names = new Set<string>();
  return raw.map(obj).map((w, i) => {
    let url: URL;
    try {
      url = new URL(str(w['url']));
    } catch {
      report(`/webhooks/${i}/url`, 'must be an absolute http(s) URL');
      url = new URL('http://invalid.invalid/');
    }
    const name = str(w['name']) || defaultWebhookName(url);
    if (names.has(name)) report(`/webhooks/${i}/name`, `webhook name "${name}" is already used (give each receiver a name)`);
    names.add(name);
    const backoffMs = duration(w['backoff'], `/webhooks/${i}/backoff`, report);
    const maxBackoffMs = duration(w['maxBackoff'], `/webhooks/${i}/maxBackoff`, report);
    if (backoffMs > maxBackoffMs) report(`/webhooks/${i}/backoff`, 'longer than maxBackoff');
    return {
      name, url, secret: str(w['secret']), events: new Set(strings(w['events'])),
      timeoutMs: duration(w['timeout'], `/webhooks/${i}/timeout`, report),
      maxAttempts: num(w['maxAttempts']), backoffMs, maxBackoffMs,
    };
  });
}

function buildConsole(raw: Obj, roles: GatewayConfig['roles'], report: Report): ConsoleConfig {
  const sessionIdleTimeoutMs = duration(raw['sessionIdleTimeout'], '/console/sessionIdleTimeout', report);
  const sessionMaxAgeMs = duration(raw['sessionMaxAge'], '/console/sessionMaxAge', report);
  if (sessionIdleTimeoutMs < 100) report('/console/sessionIdleTimeout', 'at least 100ms');
  if (sessionMaxAgeMs < sessionIdleTimeoutMs) report('/console/sessionMaxAge', 'must not be shorter than sessionIdleTimeout');
  const o = raw['oidc'] === undefined ? null : obj(raw['oidc']);
  let oidc: ConsoleOidcConfig | null = null;
  if (o !== null) {
    const field = str(o['principalField']);
    const defaultRole = str(o['defaultRole']);
    if (defaultRole !== '' && !roles.has(defaultRole)) report('/console/oidc/defaultRole', `role "${defaultRole}" is not defined (defined: ${defined(roles.keys())})`);
    if (defaultRole !== '' && roles.get(defaultRole)?.serviceOnly === true) report('/console/oidc/defaultRole', `role "${defaultRole}" is serviceOnly; OIDC creates user principals`);
    for (const k of ['issuer', 'redirectUri'] as const) {
      let u: URL | null = null;
      try { u = new URL(str(o[k])); } catch { report(`/console/oidc/${k}`, 'must be an absolute URL'); }
      // Plain http would let anyone on the path forge the provider's answers (or read the code).
      if (u !== null && u.protocol !== 'https:' && !['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname)) report(`/console/oidc/${k}`, 'must be https (plain http only on loopback)');
    }
    oidc = {
      issuer: str(o['issuer']),
      clientId: str(o['clientId']),
      clientSecret: str(o['clientSecret']),
      redirectUri: str(o['redirectUri']),
      claim: o['claim'] === 'sub' ? 'sub' : 'email',
      principalField: field.startsWith('metadata.') ? { type: 'metadata', field: field.slice('metadata.'.length) } : { type: 'name' },
      createUsers: bool(o['createUsers']),
      defaultRole,
      scopes: strings(o['scopes']),
    };
    if (!oidc.scopes.includes('openid')) report('/console/oidc/scopes', 'must include "openid"');
  }
  return { enabled: bool(raw['enabled']), sessionIdleTimeoutMs, sessionMaxAgeMs, secureCookies: (str(raw['secureCookies']) || 'auto') as ConsoleConfig['secureCookies'], oidc };
}

/** Retention is compared with stream ids, not waited on by a timer: no 24-day cap. */
function buildAudit(raw: Obj, report: Report): AuditConfig {
  const retentionMs = parseDuration(str(raw['retention'])) ?? 0;
  const flushIntervalMs = duration(raw['flushInterval'], '/audit/flushInterval', report);
  if (flushIntervalMs < 10) report('/audit/flushInterval', 'at least 10ms: shorter intervals turn batching into one write per event');
  if (retentionMs < 60_000) report('/audit/retention', 'at least 1m');
  return {
    enabled: bool(raw['enabled']),
    maxLen: num(raw['maxLen']),
    retentionMs,
    queueSize: num(raw['queueSize']),
    batchSize: num(raw['batchSize']),
    flushIntervalMs,
    anonymousRate: num(raw['anonymousRate']),
  };
}

/** `X-Authenticated-User` → prefix `x-authenticated-` and the siblings in the user's casing. */
function buildIdentity(raw: Obj, report: Report): IdentityConfig {
  const header = str(raw['header']);
  const cut = header.lastIndexOf('-');
  if (cut <= 0 || cut === header.length - 1) report('/identity/header', `"${header}" needs a prefix and a last word, like X-Authenticated-User (the siblings share the prefix)`);
  const base = cut <= 0 ? 'X-Authenticated-' : header.slice(0, cut + 1);
  return {
    header,
    prefix: base.toLowerCase(),
    strip: strings(raw['strip']).map((h) => h.toLowerCase()),
    names: { user: header, id: `${base}Id`, kind: `${base}Kind`, keyId: `${base}Key-Id`, roles: `${base}Roles`, org: `${base}Org` },
  };
}

type Node = { host: string; port: number };
const nodes = (v: unknown): Node[] => list(v).map(obj).map((n) => ({ host: str(n['host']), port: num(n['port']) }));

function buildStore(raw: Obj, report: Report): StoreConfig {
  const cache = obj(raw['cache']);
  const rawSentinel = obj(raw['sentinel']);
  const sentinel = raw['sentinel'] === undefined ? null : { name: str(rawSentinel['name']), nodes: nodes(rawSentinel['nodes']), password: str(rawSentinel['password']) };
  const cluster = raw['cluster'] === undefined ? null : nodes(raw['cluster']);
  const redis = str(raw['redis']);
  const username = str(raw['username']);
  const password = str(raw['password']);
  const tls = bool(raw['tls']);
  const chosen = [redis !== '' && 'redis', sentinel !== null && 'sentinel', cluster !== null && 'cluster'].filter(Boolean);
  if (chosen.length > 1) report('/store', `choose one of redis, sentinel and cluster (found ${chosen.join(', ')})`);
  // One place for each setting: a standalone URL carries user, password and TLS (rediss://) itself.
  if (sentinel === null && cluster === null) {
    const set = [username !== '' && 'username', password !== '' && 'password', tls && 'tls'].filter(Boolean);
    if (set.length > 0) report(`/store/${String(set[0])}`, `${set.join(', ')}: for sentinel and cluster only; a standalone store.redis URL carries its own (rediss://user:password@host:port)`);
  }
  return {
    redis, sentinel, cluster, username, password, tls,
    prefix: str(raw['prefix']),
    onError: raw['onError'] === 'deny' ? 'deny' : 'serve-stale',
    staleTtlMs: duration(raw['staleTtl'], '/store/staleTtl', report),
    cache: { max: num(cache['max']), negativeMax: num(cache['negativeMax']), ttlMs: duration(cache['ttl'], '/store/cache/ttl', report), negativeTtlMs: duration(cache['negativeTtl'], '/store/cache/negativeTtl', report) },
  };
}

function buildCredentials(raw: Obj): CredentialsConfig {
  const apiKey = obj(raw['apiKey']);
  const serviceKey = obj(raw['serviceKey']);
  const body = obj(raw['body']);
  const query = obj(raw['query']);
  return {
    bearer: bool(raw['bearer']),
    hideCredentials: bool(raw['hideCredentials']),
    apiKey: { enabled: bool(apiKey['enabled']), scheme: str(apiKey['scheme']) },
    serviceKey: { enabled: bool(serviceKey['enabled']), orgHeader: str(serviceKey['orgHeader']), requireOrgKey: bool(serviceKey['requireOrgKey']) },
    body: { enabled: bool(body['enabled']), field: str(body['field']), orgField: str(body['orgField']), maxBytes: num(body['maxBytes']), maxDepth: num(body['maxDepth']), maxBufferedBytes: num(body['maxBufferedBytes']) },
    query: { enabled: bool(query['enabled']), param: str(query['param']) },
    requireUserKey: bool(raw['requireUserKey']),
  };
}

function enabledStyles(c: CredentialsConfig, t: TokensConfig): Set<CredentialStyleName> {
  const on: [CredentialStyleName, boolean][] = [
    ['bearer', c.bearer], ['token', t.enabled], ['apikey', c.apiKey.enabled],
    ['service_key', c.serviceKey.enabled], ['body', c.body.enabled], ['query', c.query.enabled],
  ];
  return new Set(on.filter(([, enabled]) => enabled).map(([style]) => style));
}

/** HS256 needs a secret at least as long as the hash (RFC 7518 §3.2): 32 bytes. */
const MIN_SECRET = 32;

function buildTokens(raw: Obj, report: Report): TokensConfig {
  const signingKeys = list(raw['signingKeys']).map(obj).map((k) => ({ id: str(k['id']), secret: str(k['secret']), verifyOnly: bool(k['verifyOnly']) }));
  const ids = new Set<string>();
  signingKeys.forEach((k, i) => {
    if (ids.has(k.id)) report(`/tokens/signingKeys/${i}/id`, `signing key id "${k.id}" is already used`);
    ids.add(k.id);
    if (k.secret.length > 0 && k.secret.length < MIN_SECRET) report(`/tokens/signingKeys/${i}/secret`, `must be at least ${MIN_SECRET} characters`);
  });
  const enabled = bool(raw['enabled']);
  if (enabled && !signingKeys.some((k) => !k.verifyOnly && k.secret.length >= MIN_SECRET)) {
    report('/tokens/signingKeys', `tokens are enabled but no signing key (without verifyOnly, ${MIN_SECRET}+ characters) is configured`);
  }
  const ttlMs = duration(raw['ttl'], '/tokens/ttl', report);
  const maxTtlMs = duration(raw['maxTtl'], '/tokens/maxTtl', report);
  if (ttlMs > maxTtlMs) report('/tokens/ttl', `longer than tokens.maxTtl (${str(raw['maxTtl'])})`);
  return { enabled, path: str(raw['path']), ttlMs, maxTtlMs, signingKeys };
}
