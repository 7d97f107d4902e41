import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '../context.ts';
import type { KeyResolver, Resolution } from '../keystore/resolve.ts';
import { GatewayError } from '../errors.ts';
import { checkOrgKey, orgKeyFromHeader } from '../credentials/org-key.ts';
import { clientBucket, type RefusedCredentials } from '../limits/refused-credentials.ts';

const MAX_BODY = 4096;

export type ExchangeResult = 'issued' | 'invalid' | 'expired' | 'disabled' | 'error';

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'application/json') throw new GatewayError('invalid_request', 'Send the key id and secret as application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new GatewayError('body_too_large');
    chunks.push(c);
  }
  try {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch { /* answered below */ }
  throw new GatewayError('invalid_json');
}

function refuse(code: 'invalid_key' | 'invalid_org_key' | 'key_expired' | 'key_revoked' | 'principal_disabled'): GatewayError {
  return new GatewayError(code);
}

/** Constant time over equal-length hex digests; a length mismatch is simply false. */
function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * `POST /auth/token` (Okta ASA service users): a key pair's id and secret in, a short-lived
 * bearer token out. The secret is compared by hash in constant time; an unknown id, a wrong
 * secret and a key that is not a key pair get the same answer.
 */
export function createTokenExchange(resolver: KeyResolver, onResult: (r: ExchangeResult) => void) {
  return async function exchange(ctx: RequestContext, res: ServerResponse, refused: RefusedCredentials): Promise<void> {
    if (ctx.req.method !== 'POST') throw new GatewayError('invalid_request', 'Use POST');
    const body = await readJson(ctx.req);
    const id = body['key_id'];
    const secret = body['key_secret'];
    if (typeof id !== 'string' || typeof secret !== 'string' || id.length === 0 || id.length > 200 || secret.length === 0 || secret.length > 4096) {
      onResult('invalid');
      throw new GatewayError('invalid_request', 'Send {"key_id": "...", "key_secret": "..."}');
    }
    const now = Date.now();
    const presented = ctx.gen.hasher(secret);
    // Each unknown id costs a key-store lookup, as an unknown key does on the proxy: the same
    // per-address budget of refused credentials (limiter.refusedCredentials) applies here. No
    // in-memory exception: a cached "no such key" for this secret says nothing about the id.
    const client = refused.admit(clientBucket(ctx), 'exchange', () => false);
    let r: Resolution;
    try {
      r = await resolver.resolveId(id, now);
    } catch (e) {
      onResult('error');
      throw e;
    }
    const known = r.status === 'not_found' ? null : r.key;
    // Compare even when the id is unknown, so both cases cost the same.
    const match = sameHash(presented, known?.hash ?? presented.replace(/./g, '0')) && known !== null;
    if (!match || known.type !== 'key_pair') {
      onResult('invalid');
      refused.refused(client);
      throw refuse('invalid_key');
    }
    // The id and the secret match: a refusal from here on is of a known key, recorded with its ids.
    ctx.key = known;
    if (r.status !== 'not_found') ctx.principal = r.principal;
    if (r.status !== 'valid') {
      onResult(r.status === 'principal_disabled' ? 'disabled' : 'expired');
      throw refuse(r.status === 'expired' ? 'key_expired' : r.status === 'revoked' ? 'key_revoked' : r.status === 'principal_disabled' ? 'principal_disabled' : 'invalid_key');
    }
    // The org rule of the proxy (credentials/org-key.ts), here too: a token is not a way for an
    // org's principal to get around requireOrgKey, nor an org key guessed without a budget.
    const org = checkOrgKey(ctx.gen, orgKeyFromHeader(ctx.gen, ctx.req), r.principal.org, false);
    if (org.refused) {
      onResult('invalid');
      refused.refused(client);
      throw refuse('invalid_org_key');
    }
    ctx.org = org.org;
    const tokens = ctx.gen.config.tokens;
    const ttl = Math.min(tokens.ttlMs, tokens.maxTtlMs);
    const expiresAt = Math.min(now + ttl, r.key.expiresAt?.getTime() ?? Infinity);
    const token = await ctx.gen.tokens.sign({ keyId: r.key.id, principalId: r.principal.id, expiresAt }, now);
    onResult('issued');
    const out = JSON.stringify({
      bearer_token: token,
      token_type: 'Bearer',
      expires_at: new Date(Math.floor(expiresAt / 1000) * 1000).toISOString(),
      expires_in: Math.floor((expiresAt - now) / 1000),
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), 'cache-control': 'no-store', 'x-request-id': ctx.id });
    res.end(out);
  };
}
