import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import type { GatewayConfig } from './config/types.ts';
import type { Invalidation, KeyStore } from './keystore/types.ts';
import type { Logger } from './log/logger.ts';
import { buildGeneration, type Generation } from './generation.ts';
import { createGateway } from './gateway.ts';
import { createResolver, type KeyResolver } from './keystore/resolve.ts';
import { MemoryKeyStore } from './keystore/memory-store.ts';
import { createStore } from './keystore/create-store.ts';
import { createCachedResolver } from './keystore/cached-resolver.ts';
import { overlayResolver } from './keystore/overlay-resolver.ts';
import { LastUsedRecorder } from './keystore/last-used.ts';
import { createAccessLog } from './log/access.ts';
import { createMetrics, type Metrics } from './metrics/metrics.ts';
import { createRequestMetrics } from './metrics/request-metrics.ts';
import { UpstreamPools } from './proxy/pools.ts';
import { createWebSocketProxy } from './proxy/websocket.ts';
import { createWebSocketSessions } from './proxy/websocket-sessions.ts';
import { toGatewayError } from './errors.ts';
import { clientErrorFor, sendErrorOnSocket } from './respond.ts';
import { createAdminServer } from './admin/server.ts';
import { createAdminAuth, createCredentialCheck } from './admin/auth.ts';
import { createConsole } from './admin/console/create.ts';
import { adminRoutes } from './admin/v1/routes.ts';
import { createDispatcher } from './admin/v1/dispatch.ts';
import { createOwnKeysGuard } from './admin/v1/own-keys.ts';
import { openApiDocument } from './admin/v1/openapi.ts';
import { createLifecycle } from './lifecycle/service.ts';
import { createAdminAudit } from './lifecycle/audit.ts';
import { GroupDirectory } from './authz/groups.ts';
import { createTokenExchange } from './tokens/exchange.ts';
import { createAuditTrail } from './audit/trail.ts';
import { auditAdminWrites } from './audit/admin.ts';
import { auditRoutes } from './admin/v1/audit-routes.ts';
import { createUsageCounter } from './usage/counter.ts';
import { shadowedRoutes } from './routing/shadow.ts';
import { createLimits } from './limits/create.ts';
import { keyQuotaLookup, limitRoutes } from './admin/v1/limit-routes.ts';
import { createDecider } from './check/decide.ts';
import { startCheckListener, type CheckListener } from './check/listener.ts';
import { createCheckObserver } from './check/observe.ts';
import type { RunningGrpcCheck } from './check/grpc/server.ts';
import { startLifecycleEvents } from './events/start.ts';
import type { EventBus } from './events/bus.ts';
import { webhookRoutes } from './admin/v1/webhook-routes.ts';
import { createRefusedCredentials } from './limits/refused-credentials.ts';

export interface RunningGateway {
  /** Bound ports (useful with port 0 in tests). */
  readonly port: number;
  /** 0 in a worker that does not serve the admin listener (`StartOptions.worker`). */
  readonly adminPort: number;
  /** The HTTP check listener's port; null when `check` is off. */
  readonly checkPort: number | null;
  /** The Envoy gRPC Check service's port; null unless `check.grpcPort` is set. */
  readonly grpcCheckPort: number | null;
  /** The generation new requests start on. */
  current(): Generation;
  /** Swap in a new, already validated config. In-flight requests finish on the old one. */
  applyConfig(config: GatewayConfig): Promise<void>;
  /** Stop accepting, let in-flight requests finish up to the drain deadline, then close everything. */
  shutdown(): Promise<void>;
  readonly metrics: Metrics;
  /** Lifecycle events (issue 14): `emit` never blocks or throws; webhooks subscribe to it. */
  readonly events: EventBus;
}

export interface StartOptions {
  config: GatewayConfig;
  logger: Logger;
  /** The shared store; defaults to the one the config names (embedded or Redis). */
  store?: KeyStore;
  /** The metrics to record into; a fresh registry when absent. */
  metrics?: Metrics;
  /** Tests: the console's built files from elsewhere. @default dist/console at the package root */
  consoleAssets?: string;
  /**
   * Set in a `server.workers` worker (src/workers/): its slot, and whether it is the one worker
   * that serves the admin listener. The proxy and check listeners are shared by every worker.
   * @default undefined (the only process: serves everything)
   */
  worker?: { slot: number; admin: boolean };
  /** `/metrics` text from elsewhere (the admin worker asks the primary for every worker's sum). */
  metricsText?: () => Promise<{ contentType: string; body: string }>;
  /** More `/readyz` checks to report (the admin worker: how many workers serve). */
  readiness?: () => Record<string, string>;
}

/** RFC 6455 §4.1: a GET whose Upgrade is exactly `websocket` (any case). */
function isWebSocketHandshake(req: IncomingMessage): boolean {
  const offer = req.headers.upgrade;
  return req.method === 'GET' && typeof offer === 'string' && offer.trim().toLowerCase() === 'websocket';
}

/** `exclusive`: a cluster worker binds the port itself instead of sharing the primary's handle. */
function listen(server: Server, port: number, host: string, exclusive = false): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export async function startGateway(opts: StartOptions): Promise<RunningGateway> {
  const { logger } = opts;
  const config0 = opts.config;
  const metrics = opts.metrics ?? createMetrics();
  // Keys declared in the YAML file are held in process; the shared store is the embedded one
  // (then the same object) or Redis.
  const declared = new MemoryKeyStore();
  const store = opts.store ?? (config0.store.redis === '' && config0.store.sentinel === null && config0.store.cluster === null ? declared : createStore(config0.store, logger));
  await declared.syncDeclarative(config0.principals);
  let resolver: KeyResolver;
  let servingStale = () => false;
  let invalidateCache: (inv: Invalidation) => void = () => {};
  let storeDown = () => false;
  let onCacheFlush = (_l: () => void): void => {};
  if (store === declared) resolver = createResolver(declared);
  else {
    const c = config0.store;
    const cached = createCachedResolver(store, {
      max: c.cache.max, negativeMax: c.cache.negativeMax, ttlMs: c.cache.ttlMs, negativeTtlMs: c.cache.negativeTtlMs,
      onError: c.onError, staleTtlMs: c.staleTtlMs,
      onEvent: (e) => metrics.cache.labels(e).inc(),
      onStoreCall: (op, seconds) => metrics.storeDuration.labels(op).observe(seconds),
    });
    metrics.observeCacheSizes(() => cached.sizes());
    resolver = overlayResolver(declared, cached);
    servingStale = () => cached.servingStale();
    storeDown = () => cached.storeDown();
    onCacheFlush = (l) => cached.onFlush(l);
    invalidateCache = (inv) => cached.invalidate(inv);
    store.onConnectionChange((state) => logger[state === 'up' ? 'info' : 'warn']({ store: store.kind, state }, 'key store connection'));
  }
  const lastUsed = new LastUsedRecorder(store, (e) => logger.warn({ err: e }, 'could not record key last-used times'));
  // The audit trail and usage counts live beside the key store: a Redis Stream and hashes on
  // their own connection, or in process with the embedded store. Neither is ever awaited on
  // the request path.
  const side = store === declared ? { redis: '', sentinel: null, cluster: null, prefix: config0.store.prefix } : config0.store;
  const trail = createAuditTrail({ store: side, audit: config0.audit, logger, onDrop: (n, reason) => metrics.auditDropped.labels(reason).inc(n) });
  const usage = createUsageCounter({ store: side, logger });
  const limits = createLimits({ store: side, config: () => gen.config, metrics: metrics.registry, logger });

  const groups = new GroupDirectory(store);
  await groups.start((e) => logger.warn({ err: e }, 'could not load groups; keeping the last known'));
  const pools = new UpstreamPools();
  let seq = 1;
  let gen = buildGeneration(config0, seq, pools, groups);
  let draining = false;
  let inflight = 0;
  let drained: (() => void) | null = null;

  metrics.storeUp.set(store.isReady() ? 1 : 0);
  store.onConnectionChange((state) => metrics.storeUp.set(state === 'up' ? 1 : 0));
  const accessLog = createAccessLog(logger);
  const observe = createRequestMetrics(metrics);
  const gateway = createGateway({
    current: () => gen,
    resolver,
    onAuthenticated: (key, now) => {
      lastUsed.touch(key.id, now);
      usage.touch(key.id, now);
    },
    onFinished: (ctx, status) => {
      accessLog.request(ctx, status);
      observe(ctx, status);
      trail.recordRequest(ctx, status);
      const upstream = ctx.match?.upstream;
      if (ctx.upstreamError !== null && upstream != null) metrics.upstreamErrors.labels(upstream.name, ctx.upstreamError).inc();
      if (ctx.upstreamRetry !== null && upstream != null) metrics.upstreamRetries.labels(upstream.name, ctx.upstreamRetry).inc();
    },
    onFault: (ctx, err) => accessLog.fault(ctx, err),
    limiter: limits.limiter,
    onLimited: limits.onLimited,
    onCredentialsLimited: limits.onCredentialsLimited,
    tokenExchange: createTokenExchange(resolver, (result) => metrics.tokenExchanges.labels(result).inc()),
  });
  // Decision mode: the same stages, answered with the identity instead of forwarded.
  const decider = createDecider({
    current: () => gen,
    resolver,
    // The same rate limits and quotas as proxied requests: a key is limited however it is asked about.
    limiter: limits.limiter,
    onLimited: limits.onLimited,
    onCredentialsLimited: limits.onCredentialsLimited,
    onAuthenticated: (key, now) => {
      lastUsed.touch(key.id, now);
      usage.touch(key.id, now);
    },
    onDecided: createCheckObserver({ accessLog, trail, metrics }),
    onUntrusted: (mode) => metrics.checkUntrusted.labels(mode).inc(),
    onFault: (ctx, err) => accessLog.fault(ctx, err),
  });
  // Open WebSockets are re-judged when their key or principal changes, on every replica.
  const sessions = createWebSocketSessions({
    resolver,
    storeDown,
    onEnded: (ids, reason) => logger.info({ ...ids, reason }, 'websocket session ended: credential no longer valid'),
    onFault: (e) => logger.error({ err: e instanceof Error ? e.message : String(e) }, 'websocket session re-check failed'),
  });
  // After the cache's own listener (registered when it was built), so re-checks see fresh records.
  store.onInvalidate((inv) => sessions.invalidated(inv));
  if (declared !== store) declared.onInvalidate((inv) => sessions.invalidated(inv));
  onCacheFlush(() => sessions.recheckAll());
  const ws = createWebSocketProxy({ opened: (ctx, session) => sessions.opened(ctx, session) });
  const cfg = config0.server;

  async function onRequest(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): Promise<void> {
    inflight++;
    // While draining, answer what is in flight but tell keep-alive clients to go elsewhere.
    if (draining) res.setHeader('connection', 'close');
    try {
      await gateway.handle(req, res, expectContinue);
    } finally {
      if (--inflight === 0 && drained !== null) drained();
    }
  }

  const server = createServer(
    {
      maxHeaderSize: cfg.maxHeaderBytes,
      headersTimeout: cfg.headersTimeoutMs,
      requestTimeout: cfg.requestTimeoutMs,
      keepAliveTimeout: cfg.keepAliveTimeoutMs,
      // Node checks header/request timeouts only this often (30 s by default), so a 10 s
      // headers timeout could let a slow client hold a socket for 40 s; check at a quarter of it.
      connectionsCheckingInterval: Math.max(
        50,
        Math.min(1000, Math.floor(Math.min(cfg.headersTimeoutMs, cfg.requestTimeoutMs || Infinity) / 4)),
      ),
      // Strict framing is the point: CL+TE, duplicate CL, obfuscated TE are parse errors.
      insecureHTTPParser: false,
      joinDuplicateHeaders: false,
      // Only a WebSocket handshake becomes an upgrade. Any other offer (h2c, TLS/1.0, …) is a
      // plain request answered over HTTP/1.1 (RFC 9110 §7.8 lets a server ignore Upgrade),
      // with Upgrade, Connection and HTTP2-Settings stripped like any hop-by-hop header.
      shouldUpgradeCallback: isWebSocketHandshake,
    },
    (req, res) => void onRequest(req, res, false),
  );
  // Node would otherwise drop headers past 2000 silently; the gateway counts them itself (431).
  server.maxHeadersCount = 0;
  server.on('checkContinue', (req, res) => void onRequest(req, res, true));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    sendErrorOnSocket(socket, clientErrorFor(err), '');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const ctx = gateway.newContext(req, undefined, false);
    socket.on('error', () => socket.destroy());
    const finished = (status: number) => {
      accessLog.request(ctx, status);
      observe(ctx, status);
      trail.recordRequest(ctx, status);
    };
    Promise.resolve()
      .then(() => gateway.admit(ctx))
      .then(
        () => {
          ctx.forwarded = true;
          ws.forward(ctx, socket, head, finished);
        },
        (e: unknown) => {
          const err = toGatewayError(e);
          ctx.errorCode = err.code;
          sendErrorOnSocket(socket, err, ctx.id);
          finished(err.status);
        },
      )
      // A fault in the hand-off itself (an invalid header for node's request writer, say) must
      // not become an unhandled rejection, which would end the process.
      .catch((e: unknown) => {
        accessLog.fault(ctx, toGatewayError(e));
        socket.destroy();
      });
  });

  // Lifecycle events (issue 14): expiry watch and webhooks, off the request path like the trail.
  const events = startLifecycleEvents({
    config: () => gen.config, stores: store === declared ? [store] : [store, declared], registry: metrics.registry, logger, userAgent: `keygate/${VERSION}`,
  });
  limits.emitTo((data) => events.bus.emit('limit.exceeded', data));
  const audit = auditAdminWrites(createAdminAudit(logger), trail);
  const lifecycle = createLifecycle({
    store,
    roles: () => gen.config.roles,
    hashSecret: (s) => gen.hasher(s),
    keyPrefix: config0.keys.prefix,
    maxKeysPerPrincipal: config0.keys.maxPerPrincipal,
    audit,
    policy: () => gen.config.keys,
    events: events.bus,
    lastUsed: (id) => lastUsed.seen(id),
    invalidateLocal: async (inv) => {
      invalidateCache(inv);
      sessions.invalidated(inv);
      if (inv.type === 'group') await groups.refresh();
    },
  });
  const routes = [...adminRoutes(lifecycle, usage, keyQuotaLookup({ limiter: limits.limiter, config: () => gen.config })), ...limitRoutes({ lifecycle, limiter: limits.limiter, config: () => gen.config, declared }), ...auditRoutes({ trail, usage, getKey: (id) => lifecycle.keys.get(id) }), ...webhookRoutes(events.deliveries)];
  const authDeps = {
    token: () => gen.config.admin.token, hasher: () => gen.hasher, resolver, authorizer: () => gen.authorizer, principalById: (id: string) => store.getPrincipal(id),
    // One budget for the console's sign-in form and /v1 Bearer alike.
    refused: createRefusedCredentials(() => gen.config.limiter, { limited: limits.onCredentialsLimited }), trusted: () => gen.config.server.trusted,
  };
  const consoleUi = createConsole({ config: () => gen.config, store: side, keyStore: store, lifecycle, check: createCredentialCheck(authDeps), audit, version: VERSION, logger, ...(opts.consoleAssets === undefined ? {} : { assetsDir: opts.consoleAssets }) });
  const openapi = openApiDocument(routes, VERSION);
  const admin = createAdminServer({
    logger,
    metrics: opts.metricsText ?? (async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() })),
    // Ready means "send traffic here". While serve-stale rides out a store outage the gateway
    // still serves cached keys, so it stays ready: taking every replica out of the Service at
    // once would turn a Redis blip into a full outage.
    ready: () => {
      const up = store.isReady();
      const canServe = up || servingStale();
      const checks = { config: `generation ${gen.seq}`, store: up ? 'up' : canServe ? 'down (serving cached keys)' : 'down', listener: draining ? 'draining' : 'serving', ...opts.readiness?.() };
      return { ready: !draining && canServe, checks };
    },
    ...(consoleUi === null ? {} : { console: consoleUi.handle }),
    api: {
      authenticate: createAdminAuth({ ...authDeps, ...(consoleUi === null ? {} : { sessions: consoleUi.sessions }) }),
      dispatch: createDispatcher(routes, createOwnKeysGuard(lifecycle)),
      openapi: () => openapi,
    },
  });

  const port = await listen(server, cfg.port, cfg.host);
  // One admin listener for all workers: its API, console and /metrics speak for the whole process.
  const servesAdmin = opts.worker?.admin ?? true;
  const adminPort = servesAdmin ? await listen(admin, config0.admin.port, config0.admin.host, true) : 0;
  const check: CheckListener | null = config0.check.enabled ? await startCheckListener(decider, () => gen) : null;
  const checkPort = check?.port ?? null;
  // Envoy ext_authz over gRPC: the same decider, on its own HTTP/2 port beside the check listener.
  // grpc-js and the protos are loaded only then (≈5 MiB of RSS otherwise held for nothing, issue 12).
  const grpcCheck: RunningGrpcCheck | null = config0.check.enabled && config0.check.grpcPort !== null
    ? await (await import('./check/grpc/server.ts')).startGrpcCheck({ decider, host: config0.check.host, port: config0.check.grpcPort, onFault: (e) => logger.error({ err: e instanceof Error ? e.message : String(e) }, 'grpc check fault') })
    : null;
  const grpcCheckPort = grpcCheck?.port ?? null;
  // A worker's line is not "keygate listening": the primary says that once every worker is.
  logger.info({ port, adminPort, checkPort, grpcCheckPort, store: store.kind, routes: config0.routes.length }, opts.worker === undefined ? 'keygate listening' : 'worker listening');
  warnShadowed(config0, logger);

  return {
    port,
    adminPort,
    checkPort,
    grpcCheckPort,
    metrics,
    events: events.bus,
    current: () => gen,
    async applyConfig(config) {
      await declared.syncDeclarative(config.principals);
      gen = buildGeneration(config, ++seq, pools, groups);
      warnShadowed(config, logger);
      warnCheckRestart(config0, config, logger);
    },
    async shutdown() {
      draining = true;
      const deadline = gen.config.server.drainTimeoutMs;
      // The check listener drains alongside the proxy, under the same deadline.
      const checkClosed = check?.close(deadline);
      const grpcClosed = grpcCheck?.stop(deadline);
      server.close();
      server.closeIdleConnections();
      if (inflight > 0) {
        const allDone = new Promise<void>((r) => (drained = r));
        const timer = new Promise<'timeout'>((r) => setTimeout(r, deadline, 'timeout').unref());
        if ((await Promise.race([allDone, timer])) === 'timeout') logger.warn({ inflight }, 'drain deadline reached; closing connections');
      }
      server.closeAllConnections();
      await checkClosed;
      await grpcClosed;
      ws.close();
      sessions.close();
      await new Promise<void>((r) => admin.close(() => r()));
      admin.closeAllConnections();
      await pools.destroy();
      await lastUsed.close();
      await events.close();
      await trail.close();
      await usage.close();
      await limits.limiter.close();
      await consoleUi?.close();
      await store.close();
      logger.info({}, 'keygate stopped');
    },
  };
}

/** A route an earlier one covers never matches: valid config, but not what was meant (also in check-config). */
function warnShadowed(config: GatewayConfig, logger: Logger): void {
  for (const s of shadowedRoutes(config.routes, { caseSensitive: config.server.caseSensitivePaths })) {
    logger.warn({ route: s.route.name, line: s.route.line, shadowedBy: s.by.name }, s.message);
  }
}

/** The check listener's address is bound at start: a reload keeps serving where it listens. */
function warnCheckRestart(first: GatewayConfig, next: GatewayConfig, logger: Logger): void {
  const a = first.check;
  const b = next.check;
  if (a.enabled !== b.enabled || (b.enabled && (a.port !== b.port || a.host !== b.host || a.grpcPort !== b.grpcPort))) {
    logger.warn({ enabled: b.enabled, port: b.port, host: b.host }, 'check listener address changes take effect on restart; decisions use the new routes and keys now');
  }
}
