/**
 * The validated, typed configuration the rest of keygate works with. `load.ts` turns the YAML
 * file into this shape (interpolated, schema-checked, cross-checked, durations in ms); nothing
 * downstream re-validates. One object is one config generation: a reload builds a new one and
 * swaps it in whole, so a request keeps the generation it started with.
 */

export interface ServerConfig {
  /** @default 8080 */
  port: number;
  /** @default "0.0.0.0" */
  host: string;
  /** Time allowed for the request line and headers (slowloris guard) → 408. @default 10_000 */
  headersTimeoutMs: number;
  /** Time allowed to receive the whole request, body included → 408. @default 300_000 */
  requestTimeoutMs: number;
  /** Idle time on a kept-alive client connection. @default 5_000 */
  keepAliveTimeoutMs: number;
  /** Max total bytes of request line + headers (Node's parser) → 431. @default 16384 */
  maxHeaderBytes: number;
  /** Max number of request header fields → 431. @default 100 */
  maxHeaders: number;
  /** SIGTERM: how long in-flight requests may take to finish before connections are cut. @default 30_000 */
  drainTimeoutMs: number;
  /**
   * Worker processes sharing the proxy (and check) listener (docs/workers.md). `auto` as
   * written; {@link resolveWorkers} turns it into a count. Above 1 needs a Redis store. @default 1
   */
  workers: number | 'auto';
  /** Addresses and CIDRs of the proxies in front, as written. @default [] */
  trustedProxies: string[];
  /**
   * `trustedProxies` compiled once (node's BlockList, IPv4 and IPv6, IPv4-mapped IPv6 peers
   * included); null when no peer is trusted, so the common case is one comparison.
   */
  trusted: TrustedPeers | null;
  headers: HeadersConfig;
  /** Match route paths case-sensitively. Off by default so `/API/x` cannot dodge the `/api/*` route's rule. @default false */
  caseSensitivePaths: boolean;
  /** `;` in a path: `reject` (400 bad_path) or `allow` (kept literally). @default "reject" */
  pathSemicolons: 'reject' | 'allow';
}

/** Decides whether a connection's peer address is one of `server.trustedProxies`. */
export interface TrustedPeers {
  has(address: string): boolean;
}

/** `server.headers`: request header hygiene (docs/security.md, Headers). */
export interface HeadersConfig {
  /** Forward headers whose name contains `_` (unless they fold to one keygate controls). @default false */
  allowUnderscores: boolean;
  /** Values that are credentials besides keygate's own formats: such an X-Request-Id is not adopted. @default [] */
  credentialPatterns: RegExp[];
}

/**
 * `check`: the decision-only listener (docs/forward-auth.md). nginx `auth_request`, Traefik
 * ForwardAuth, Caddy `forward_auth` and Envoy `ext_authz` ask it about a request; it answers
 * allowed (with the identity) or refused, and never forwards anything.
 */
export interface CheckConfig {
  /** Off unless the `check` section is present. @default false */
  enabled: boolean;
  /** @default 8081 */
  port: number;
  /** @default "127.0.0.1" */
  host: string;
  /** Envoy gRPC `envoy.service.auth.v3.Authorization/Check`; null: not served. @default null */
  grpcPort: number | null;
  /** Envoy HTTP ext_authz: the `path_prefix` Envoy puts before the original path. @default "/envoy" */
  pathPrefix: string;
  /** Addresses and CIDRs allowed to ask, as written. @default ["127.0.0.1/8", "::1"] */
  trustedClients: string[];
  /** `trustedClients` compiled once. */
  trusted: TrustedPeers;
  /**
   * Envoy buffers the body of every request reaching a body-credential route, so its
   * `x-envoy-auth-partial-body: false` is believed; off, that header could be the client's. @default false
   */
  withRequestBody: boolean;
  /** Access log lines for every decision, or for refusals only. @default "refusals" while the audit trail is on, else "all" */
  accessLog: 'all' | 'refusals';
}

export interface AdminConfig {
  /** @default 9090 */
  port: number;
  /** @default "127.0.0.1" */
  host: string;
  /** Bearer token for the admin API; empty disables token auth for it. */
  token: string;
}

export interface StoreConfig {
  /** Redis URL (standalone); empty, with no sentinel or cluster, selects the embedded in-memory store. */
  redis: string;
  /** Redis Sentinel: the sentinels, the master group name, and the sentinels' own password ("" = none). */
  sentinel: { name: string; nodes: { host: string; port: number }[]; password: string } | null;
  /** Redis Cluster seed nodes. */
  cluster: { host: string; port: number }[] | null;
  /** ACL user of the nodes behind Sentinel and of Cluster nodes ("" = the default user). A standalone URL carries its own. @default "" */
  username: string;
  /** Password of the nodes behind Sentinel and of Cluster nodes ("" = none). @default "" */
  password: string;
  /** TLS to the sentinels, the nodes behind them and Cluster nodes (standalone: `rediss://`). @default false */
  tls: boolean;
  /** Prefix (hash tag) of every Redis key and the pub/sub channel. @default "kg" */
  prefix: string;
  /** While the store is unreachable: serve cached keys for staleTtl, or refuse at once. @default "serve-stale" */
  onError: 'serve-stale' | 'deny';
  /** @default 30_000 */
  staleTtlMs: number;
  cache: {
    /** @default 100_000 */
    max: number;
    /** "No such key" entries, bounded apart from `max`. @default 10_000 */
    negativeMax: number;
    /** @default 60_000 */
    ttlMs: number;
    /** @default 2_000 */
    negativeTtlMs: number;
  };
}

export interface KeysConfig {
  /** Prefix of generated secrets. @default "kg_" */
  prefix: string;
  /** Live keys a principal may hold. @default 10 */
  maxPerPrincipal: number;
  /** Server-side secret: when set, secrets are stored as HMAC-SHA256 with it instead of SHA-256. @default "" */
  pepper: string;
  /** Longest lifetime of a key at creation, import or rotation; null: no limit. @default null */
  maxLifetimeMs: number | null;
  /** Lifetime of a key created without one; null: none. @default null */
  defaultLifetimeMs: number | null;
  /** Refuse keys without an expiry (implied by maxLifetimeMs). @default false */
  requireExpiry: boolean;
  /** How often each replica scans for keys entering an expiry window. @default 60_000 */
  expiryCheckIntervalMs: number;
}

/** One `webhooks[]` receiver of lifecycle events (src/webhooks/). */
export interface WebhookConfig {
  /** Delivery log and metrics label. @default the URL's host and a digest of its path (defaultWebhookName) */
  name: string;
  url: URL;
  /** HMAC-SHA256 key; never logged, never stored with a delivery. */
  secret: string;
  /** Event types sent here. @default every type */
  events: ReadonlySet<string>;
  /** @default 10_000 */
  timeoutMs: number;
  /** @default 12 */
  maxAttempts: number;
  /** First retry delay, doubled per attempt with full jitter. @default 1_000 */
  backoffMs: number;
  /** @default 3_600_000 */
  maxBackoffMs: number;
}

export interface IdentityConfig {
  /** Header carrying the principal name. @default "X-Authenticated-User" */
  header: string;
  /**
   * Family prefix (lower case) of every identity header, derived from `header` by dropping its
   * last `-Word` (`x-authenticated-`). Every inbound header starting with it is removed.
   */
  prefix: string;
  /** Extra inbound header names (lower case) to strip, e.g. `x-forwarded-user`. */
  strip: string[];
  /** Sibling header names, in the case they are sent upstream. */
  names: { user: string; id: string; kind: string; keyId: string; roles: string; org: string };
}

/** Credential styles, as named in `routes[].credentials` and the `keygate_auth_total` label. */
export type CredentialStyleName = 'bearer' | 'token' | 'apikey' | 'service_key' | 'body' | 'query';

export interface CredentialsConfig {
  /** Accept `Authorization: Bearer <key>` (RegScale). @default true */
  bearer: boolean;
  /** Remove the credential from the forwarded request. @default true */
  hideCredentials: boolean;
  /** `Authorization: <scheme> <key>` (ThreadFix's `APIKEY`). */
  apiKey: { enabled: boolean; /** @default "APIKEY" */ scheme: string };
  /** Contrast: `Authorization: base64(user:key)` or `Basic <same>`, plus an optional org key header. */
  serviceKey: { enabled: boolean; /** @default "API-Key" */ orgHeader: string; /** @default false */ requireOrgKey: boolean };
  /** Mend: a key field inside a JSON request body, only on routes that list `body`. */
  body: { enabled: boolean; /** @default "userKey" */ field: string; /** @default "orgToken" */ orgField: string; /** @default 1 MiB */ maxBytes: number; /** @default 64 */ maxDepth: number; /** @default 256 MiB */ maxBufferedBytes: number };
  /** `?apiKey=` — discouraged (RFC 6750 §5.3: URLs end up in logs). @default off */
  query: { enabled: boolean; /** @default "apiKey" */ param: string };
  /** Mend's "enforce user level access": an org key alone is refused (401 user_key_required). @default false */
  requireUserKey: boolean;
}

export interface SigningKeyConfig {
  id: string;
  secret: string;
  /** Accepted for verification but never used to sign: the first step of a rotation. */
  verifyOnly: boolean;
}

export interface TokensConfig {
  /** Serve the token exchange and accept its tokens. @default false */
  enabled: boolean;
  /** @default "/auth/token" */
  path: string;
  /** @default 3_600_000 (1 h) */
  ttlMs: number;
  /** Upper bound of any token lifetime. @default 43_200_000 (12 h) */
  maxTtlMs: number;
  /** HS256 keys; the first one without verifyOnly signs, all verify. */
  signingKeys: SigningKeyConfig[];
}

export interface OrgConfig {
  name: string;
  /** Org-level keys (Contrast's API-Key header, Mend's orgToken). */
  keys: DeclaredKey[];
  /** Name of the `limits` policy every principal of the org is held to; absent: none. */
  limit?: string;
  quota?: QuotaConfig;
}

/** A rate as written (`100/s`): `count` requests per `periodMs`. */
export interface RateConfig {
  count: number;
  periodMs: number;
  text: string;
}

/** What a rate limit counts: each key, each principal, or each org. */
export type LimitScope = 'key' | 'principal' | 'org';

/** One named policy under `limits:` (docs/limits.md). */
export interface LimitPolicy {
  name: string;
  rate: RateConfig;
  /** Token bucket size. @default rate.count */
  burst: number;
  /** @default "principal" */
  per: LimitScope;
}

/** `quota:` on a key, principal or org: `requests` per UTC `period`, refilled when one starts. */
export interface QuotaConfig {
  requests: number;
  /** @default "month" */
  period: 'day' | 'month' | 'none';
}

/** `limiter:`: how limits are enforced. */
export interface LimiterConfig {
  /** Refused credentials per client address before authentication; null: unlimited. @default 10/s, burst 50 */
  refusedCredentials: { rate: RateConfig; burst: number; clients: number } | null;
  /** Share of a bucket leased from Redis at a time. @default 0.1 */
  leaseSize: number;
  /** Replicas assumed when Redis is unreachable and none was ever counted. @default 2 */
  fallbackReplicas: number;
}

export interface RoleConfig {
  name: string;
  actions: string[];
  /** Only service principals may hold it (Mend: Auditor is for service users). @default false */
  serviceOnly: boolean;
  /** `limits` policy for principals holding this role; absent: none. */
  limit?: string;
}

export interface UpstreamConfig {
  name: string;
  /** Origin plus optional base path, e.g. `http://10.0.0.5:3000/base`. */
  url: URL;
  /** Time to receive response headers → 504. @default 30_000 */
  timeoutMs: number;
  /** @default 5_000 */
  connectTimeoutMs: number;
  /** Max idle time between response body chunks. @default 30_000 */
  bodyTimeoutMs: number;
  /** Keep-alive connections per upstream origin. @default 128 */
  connections: number;
  /** Forward the client's Host header instead of the upstream's. @default false */
  preserveHost: boolean;
  /**
   * Idle time after which a pooled connection is closed by keygate, also capping the upstream's
   * `Keep-Alive: timeout=` hint: below the upstream's own idle timeout, keygate closes first. @default 4_000
   */
  keepAliveTimeoutMs: number;
}

export interface RouteConfig {
  name: string;
  /** Pattern as written: literal segments, `:param` segments, optional trailing `*`. */
  path: string;
  /** Upper-case methods; empty means any. */
  methods: string[];
  /** Optional Host match (lower case, exact or `*.suffix`). */
  hosts: string[];
  /** Where the proxy forwards; null on a decision-only route, which only the check listener serves. */
  upstream: string | null;
  /** Action(s) the principal must hold; all must hold. Empty only when `public`. */
  actions: string[];
  public: boolean;
  /** On POST, honour a method override: match, authorize and forward as the overridden method. @default false */
  methodOverride: boolean;
  /** Strip this literal prefix from the path before forwarding. */
  stripPrefix: string;
  /** Credential styles accepted on this route; null: every globally enabled style except `body`. */
  credentials: CredentialStyleName[] | null;
  /**
   * What the route accepts in effect: its list, or every globally enabled style but `body`
   * (reading a body to find a key is opt-in per route, so other routes keep streaming), limited
   * to the enabled styles. Fixed at config build time.
   */
  accepts: ReadonlySet<CredentialStyleName>;
  /** Resource scoping: the path parameter naming the resource the action applies to. */
  resource: { type: string; param: string } | null;
  /** `limits` policy for requests on this route (counted per route); absent: none. */
  limit?: string;
  /** Line in the config file, for messages. */
  line: number;
}

export interface DeclaredKey {
  id: string;
  /** `sha256:<64 hex>` */
  hash: string;
  name?: string;
  expiresAt?: Date;
  /** `limits` policy for this key. */
  limit?: string;
  quota?: QuotaConfig;
}

export interface DeclaredPrincipal {
  name: string;
  /** Shown on screens only, never forwarded upstream. */
  displayName?: string;
  kind: 'user' | 'service';
  roles: string[];
  org?: string;
  disabled: boolean;
  keys: DeclaredKey[];
  /** `limits` policy for this principal, instead of its roles'. */
  limit?: string;
  quota?: QuotaConfig;
}

/** `audit:`: the audit trail (src/audit/trail.ts), durations in ms. */
export interface AuditConfig {
  /** Record events at all. @default true */
  enabled: boolean;
  /** Redis: approximate stream length cap (`MAXLEN ~`). Embedded store: ring size, at most 100 000. @default 1_000_000 */
  maxLen: number;
  /** Redis: entries older than this are trimmed. @default 30 days */
  retentionMs: number;
  /** Events waiting to be written; beyond it they are dropped and counted. @default 10_000 */
  queueSize: number;
  /** Events per write to Redis (one script call). @default 128 */
  batchSize: number;
  /** Longest an event waits to be written. @default 250 */
  flushIntervalMs: number;
  /** Refusals without a valid credential recorded per client address and second (0: all). @default 10 */
  anonymousRate: number;
}

/** `console:`: the web console's sessions and sign-in (src/admin/console/, docs/console.md). */
export interface ConsoleConfig {
  /** Serve `/console/` and its session API. @default true */
  enabled: boolean;
  /** A session unused this long ends. @default 1_800_000 (30 m) */
  sessionIdleTimeoutMs: number;
  /** A session ends this long after sign-in. @default 43_200_000 (12 h) */
  sessionMaxAgeMs: number;
  /** The cookies' Secure flag: from the request (TLS or a trusted proxy's X-Forwarded-Proto), or fixed. @default "auto" */
  secureCookies: 'auto' | 'always' | 'never';
  oidc: ConsoleOidcConfig | null;
}

export interface ConsoleOidcConfig {
  issuer: string;
  clientId: string;
  /** "" for a public client. */
  clientSecret: string;
  redirectUri: string;
  /** @default "email" (only with email_verified) */
  claim: 'email' | 'sub';
  /** `name`, or the metadata field (without `metadata.`) the claim is matched against. @default "name" */
  principalField: { type: 'name' } | { type: 'metadata'; field: string };
  /** @default false */
  createUsers: boolean;
  /** "" = none. */
  defaultRole: string;
  /** @default ["openid", "email"] */
  scopes: string[];
}

export interface LogConfig {
  /** @default "info" */
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
}

export interface GatewayConfig {
  /** Absolute path of the file this was loaded from ("" when built in code). */
  file: string;
  server: ServerConfig;
  admin: AdminConfig;
  store: StoreConfig;
  identity: IdentityConfig;
  check: CheckConfig;
  credentials: CredentialsConfig;
  keys: KeysConfig;
  tokens: TokensConfig;
  orgs: Map<string, OrgConfig>;
  roles: Map<string, RoleConfig>;
  /** Named rate-limit policies (`limits:`). */
  limits: Map<string, LimitPolicy>;
  limiter: LimiterConfig;
  upstreams: Map<string, UpstreamConfig>;
  routes: RouteConfig[];
  principals: DeclaredPrincipal[];
  audit: AuditConfig;
  webhooks: WebhookConfig[];
  console: ConsoleConfig;
  log: LogConfig;
}

/** One problem found in a config file: everything needed to fix it without guessing. */
export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  /** JSON-pointer-like path, e.g. `/routes/2/upstream`. */
  path: string;
  message: string;
}
