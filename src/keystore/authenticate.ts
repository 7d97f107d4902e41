import type { RequestContext } from '../context.ts';
import { GatewayError, type ErrorCode } from '../errors.ts';
import { bearerChallenge } from '../credentials/bearer.ts';
import type { KeyResolver, Resolution } from './resolve.ts';
import type { KeyRecord } from './types.ts';

const REFUSALS: Record<Exclude<Resolution['status'], 'valid'>, ErrorCode> = {
  not_found: 'invalid_key',
  expired: 'key_expired',
  revoked: 'key_revoked',
  principal_disabled: 'principal_disabled',
};

function refuse(status: Exclude<Resolution['status'], 'valid'>): GatewayError {
  const code = REFUSALS[status];
  return new GatewayError(code, undefined, { headers: { 'www-authenticate': bearerChallenge('invalid_token', code) } });
}

/** Stage: resolve the credential's hash to a principal; every refusal is a 401 with its own code. */
export function authenticate(resolver: KeyResolver, onAuthenticated?: (key: KeyRecord, now: number) => void) {
  function accept(ctx: RequestContext, r: Resolution): void {
    if (r.status !== 'valid') throw refuse(r.status);
    ctx.principal = r.principal;
    ctx.key = r.key;
    onAuthenticated?.(r.key, Date.now());
  }
  return function authenticateStage(ctx: RequestContext): void | Promise<void> {
    if (ctx.credential === null) return;
    const r = resolver.resolve(ctx.credential.hash, Date.now());
    if (r instanceof Promise) return r.then((v) => accept(ctx, v));
    accept(ctx, r);
  };
}
