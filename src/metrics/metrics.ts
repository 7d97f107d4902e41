import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Auth runs in microseconds on a cache hit; buckets start well below a millisecond. */
const AUTH_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1];
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Methods outside this set are counted as `OTHER`: the method is request-controlled. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
export function methodLabel(method: string | undefined): string {
  return method !== undefined && KNOWN_METHODS.has(method) ? method : 'OTHER';
}

export type AuthResult = 'allowed' | 'unauthenticated' | 'forbidden' | 'error';

/** Default metrics left out: gauges whose `_total` name says counter (see createMetrics). */
export const DROPPED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * keygate's metrics on an injected registry (CONVENTIONS §10). Label values come only from the
 * config (route and upstream names), from fixed sets (methods, results, events) or from status
 * codes — never from paths, keys, principals or header values, so the series count is bounded.
 */
export function createMetrics(registry = new Registry()) {
  const r = [registry];
  let cacheSizes = (): { positive: number; negative: number } => ({ positive: 0, negative: 0 });
  const m = {
    registry,
    requests: new Counter({ name: 'keygate_requests_total', help: 'Requests answered, by route (config name or "unmatched"), method and status', labelNames: ['route', 'method', 'status'], registers: r }),
    requestDuration: new Histogram({ name: 'keygate_request_duration_seconds', help: 'Time from request arrival to the end of the response', labelNames: ['route'], buckets: REQUEST_BUCKETS, registers: r }),
    auth: new Counter({ name: 'keygate_auth_total', help: 'Authentication and authorization decisions on protected routes', labelNames: ['route', 'credential', 'result'], registers: r }),
    authDuration: new Histogram({ name: 'keygate_auth_duration_seconds', help: 'Time to extract, resolve and authorize a credential', labelNames: ['credential'], buckets: AUTH_BUCKETS, registers: r }),
    upstreamDuration: new Histogram({ name: 'keygate_upstream_duration_seconds', help: 'Time from dispatch to the end of the upstream response', labelNames: ['upstream'], buckets: REQUEST_BUCKETS, registers: r }),
    upstreamErrors: new Counter({ name: 'keygate_upstream_errors_total', help: 'Upstream failures by kind (timeout, unavailable, client_aborted)', labelNames: ['upstream', 'kind'], registers: r }),
    upstreamRetries: new Counter({ name: 'keygate_upstream_retries_total', help: 'Requests sent a second time, on a new connection, after a reused keep-alive connection closed (connection_closed) or was reset (connection_reset) before any response byte', labelNames: ['upstream', 'reason'], registers: r }),
    cache: new Counter({ name: 'keygate_keystore_cache_total', help: 'Key cache events (hit, miss, negative_hit, coalesced, invalidated, stale_serve, flushed, evicted, negative_evicted)', labelNames: ['event'], registers: r }),
    cacheEntries: new Gauge({
      name: 'keygate_keystore_cache_entries', help: 'Entries in the key cache: positive (keys the store found) and negative ("no such key"), each under its own bound', labelNames: ['kind'] as const, registers: r,
      collect() { const s = cacheSizes(); this.labels('positive').set(s.positive); this.labels('negative').set(s.negative); },
    }),
    /** Where keygate_keystore_cache_entries reads its values; set once the cache exists. */
    observeCacheSizes(fn: () => { positive: number; negative: number }) { cacheSizes = fn; },
    storeUp: new Gauge({ name: 'keygate_keystore_up', help: '1 when the key store answers, 0 when it cannot be reached', registers: r }),
    storeDuration: new Histogram({ name: 'keygate_keystore_duration_seconds', help: 'Key store round trips by operation', labelNames: ['op'], buckets: AUTH_BUCKETS, registers: r }),
    tokenExchanges: new Counter({ name: 'keygate_token_exchanges_total', help: 'Short-lived token exchanges by result', labelNames: ['result'], registers: r }),
    configReloads: new Counter({ name: 'keygate_config_reloads_total', help: 'Config reloads by result (success, failure)', labelNames: ['result'], registers: r }),
    auditDropped: new Counter({ name: 'keygate_audit_events_dropped_total', help: 'Audit events not recorded: queue_full, store_error, or rate_limited (refusals without a valid credential beyond audit.anonymousRate per client)', labelNames: ['reason'] as const, registers: r }),
    checkDecisions: new Counter({ name: 'keygate_check_decisions_total', help: 'Decisions of the check listener (decision mode), by mode (nginx, forward, envoy-http, envoy-grpc), route (config name or "unmatched") and result (allowed, unauthenticated, forbidden, refused: the check request itself was refused, error)', labelNames: ['mode', 'route', 'result'] as const, registers: r }),
    checkDuration: new Histogram({ name: 'keygate_check_duration_seconds', help: 'Time to decide one check, from the decider being asked to its answer', labelNames: ['mode'] as const, buckets: AUTH_BUCKETS, registers: r }),
    checkUntrusted: new Counter({ name: 'keygate_check_untrusted_total', help: 'Check requests refused because they came from outside check.trustedClients, by mode', labelNames: ['mode'] as const, registers: r }),
    headersDropped: new Counter({ name: 'keygate_request_headers_dropped_total', help: 'Client request headers removed before forwarding: underscore (name contains _, or a dotted name that folds onto a header keygate controls), identity (client-sent identity header) or override (request-target or method override)', labelNames: ['reason'] as const, registers: r }),
  };
  // Known label values start at 0, so rate() and alerts see the series before the first drop.
  for (const reason of ['queue_full', 'store_error', 'rate_limited']) m.auditDropped.labels(reason).inc(0);
  for (const reason of ['underscore', 'identity', 'override']) m.headersDropped.labels(reason).inc(0);
  for (const mode of ['nginx', 'forward', 'envoy-http', 'envoy-grpc']) m.checkUntrusted.labels(mode).inc(0);
  collectDefaultMetrics({ register: registry });
  // prom-client exposes these totals as gauges named `*_total`, a suffix Prometheus reserves for
  // counters (`promtool check metrics` fails on them). They are the sums of the per-type gauges
  // kept beside them: `sum(nodejs_active_handles)` gives the same number.
  for (const name of DROPPED_DEFAULTS) registry.removeSingleMetric(name);
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
