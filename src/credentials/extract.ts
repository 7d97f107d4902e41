import type { RequestContext } from '../context.ts';
import { GatewayError } from '../errors.ts';
import { BEARER_CHALLENGE, extractBearer } from './bearer.ts';

/**
 * Stage: find the caller's credential and reduce it to a hash. Public routes skip it. A
 * protected route without any credential is a 401 carrying the RFC 6750 challenge.
 */
export function extractCredential(ctx: RequestContext): void {
  if (ctx.match!.route.public) return; // matchRoute ran first
  const creds = ctx.gen.config.credentials;
  const found = creds.bearer ? extractBearer(ctx.req, ctx.gen.hasher, ctx.gen.config.keys.prefix) : null;
  if (found === null) {
    throw new GatewayError('missing_credentials', undefined, { headers: { 'www-authenticate': BEARER_CHALLENGE } });
  }
  ctx.credential = found;
}
