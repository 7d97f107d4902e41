import type { Counter, Histogram } from 'prom-client';
import type { RequestContext } from '../context.ts';
import type { AuthResult, Metrics } from './metrics.ts';
import { methodLabel } from './metrics.ts';

/**
 * `labels()` builds and validates a label object on every call; its result is cached per label
 * tuple. (prom-client still hashes the labels inside inc/observe: the remaining cost, a few µs.)
 */
class ChildCache<T> {
  private readonly children = new Map<string, T>();
  private readonly make: (...labels: string[]) => T;
  constructor(make: (...labels: string[]) => T) {
    this.make = make;
  }
  get(...labels: string[]): T {
    const key = labels.join('\u0000');
    let child = this.children.get(key);
    if (child === undefined) this.children.set(key, (child = this.make(...labels)));
    return child;
  }
}

const ERROR_RESULT: Record<string, AuthResult> = {
  missing_credentials: 'unauthenticated', invalid_key: 'unauthenticated', key_expired: 'unauthenticated',
  key_revoked: 'unauthenticated', principal_disabled: 'unauthenticated', token_expired: 'unauthenticated',
  user_key_required: 'unauthenticated', forbidden: 'forbidden',
  key_pair_secret_not_credential: 'unauthenticated', ambiguous_credentials: 'unauthenticated',
};

/** Records one finished request. Called once per request, off the forwarding path. */
export function createRequestMetrics(m: Metrics) {
  type C = ReturnType<Counter['labels']>;
  type H = ReturnType<Histogram['labels']>;
  const requests = new ChildCache<C>((...l) => m.requests.labels(...l));
  const durations = new ChildCache<H>((...l) => m.requestDuration.labels(...l));
  const auth = new ChildCache<C>((...l) => m.auth.labels(...l));
  const authDur = new ChildCache<H>((...l) => m.authDuration.labels(...l));
  const upDur = new ChildCache<H>((...l) => m.upstreamDuration.labels(...l));

  return function observe(ctx: RequestContext, status: number): void {
    const route = ctx.match?.route.name ?? 'unmatched';
    requests.get(route, methodLabel(ctx.req.method), String(status)).inc();
    durations.get(route).observe(Number(process.hrtime.bigint() - ctx.start) / 1e9);
    if (ctx.authNs !== null) {
      const credential = ctx.credential?.style ?? ctx.malformedStyle ?? 'none';
      const result: AuthResult = ctx.errorCode === null || ctx.forwarded ? 'allowed' : (ERROR_RESULT[ctx.errorCode] ?? 'error');
      auth.get(route, credential, result).inc();
      authDur.get(credential).observe(Number(ctx.authNs) / 1e9);
    }
    if (ctx.headerDrops !== null) {
      for (const [reason, n] of Object.entries(ctx.headerDrops)) if (n > 0) m.headersDropped.labels(reason).inc(n);
    }
    if (ctx.upstreamStart !== null && ctx.match !== null) {
      upDur.get(ctx.match.upstream.name).observe(Number(process.hrtime.bigint() - ctx.upstreamStart) / 1e9);
    }
  };
}
