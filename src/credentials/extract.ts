import type { CredentialStyleName } from '../config/types.ts';
import type { DecisionContext, PresentedCredential } from '../context.ts';
import { GatewayError } from '../errors.ts';
import { parseAuthorization } from './authorization.ts';
import { BEARER_CHALLENGE, bearerChallenge } from './bearer.ts';
import { isJson, readBodyCredential } from './body.ts';
import { checkSecretFormat } from './key-format.ts';
import { queryKey, withoutParam } from './query.ts';
import { singleRawHeader } from './raw-headers.ts';
import { orgKeyFromHeader } from './org-key.ts';
import type { VerifyResult } from '../tokens/signer.ts';
import { must } from '../must.ts';

/** Styles the matched route accepts (RouteConfig.accepts, fixed when the config was built). */
export function acceptedStyles(ctx: DecisionContext): ReadonlySet<CredentialStyleName> {
  return must(ctx.match, 'matchRoute ran first').route.accepts;
}

function malformed(ctx: DecisionContext, style: CredentialStyleName): GatewayError {
  ctx.malformedStyle = style;
  return new GatewayError('invalid_key', 'Malformed credential', { headers: { 'www-authenticate': bearerChallenge('invalid_token', 'malformed credential') } });
}

/** A key secret becomes its hash here; nothing after this stage sees the secret. */
function keyCredential(ctx: DecisionContext, style: CredentialStyleName, secret: string, source: PresentedCredential['source']): PresentedCredential {
  // A key in our format with a wrong checksum is a typo or a forgery: refuse it without a lookup.
  if (checkSecretFormat(secret, ctx.gen.config.keys.prefix) === 'malformed') throw malformed(ctx, style);
  return { style, hash: ctx.gen.hasher(secret), source };
}

/** Credentials carried in headers and the query. Precedence is fixed; see docs/credentials.md. */
function fromHeadersAndQuery(ctx: DecisionContext, accepted: ReadonlySet<CredentialStyleName>): { found: PresentedCredential[]; jwt: string | null } {
  const cfg = ctx.gen.config;
  const found: PresentedCredential[] = [];
  let jwt: string | null = null;
  const auth = singleRawHeader(ctx.req, 'authorization');
  if (auth !== undefined) {
    const header = { kind: 'header', name: 'authorization' } as const;
    const v = parseAuthorization(auth, cfg.credentials, accepted.has('token'));
    switch (v.kind) {
      case 'bearer': if (accepted.has('bearer')) found.push(keyCredential(ctx, 'bearer', v.token, header)); break;
      case 'jwt':
        jwt = v.token;
        found.push({ style: 'token', hash: ctx.gen.hasher(v.token), source: header });
        break;
      case 'apikey': if (accepted.has('apikey')) found.push(keyCredential(ctx, 'apikey', v.key, header)); break;
      case 'service_key':
        if (accepted.has('service_key')) found.push({ ...keyCredential(ctx, 'service_key', v.key, header), claimedUser: v.user });
        break;
      case 'malformed': throw malformed(ctx, v.scheme === 'basic' ? 'service_key' : v.scheme);
      case 'other': break;
    }
  }
  if (accepted.has('query')) {
    const param = cfg.credentials.query.param;
    const key = queryKey(ctx.query, param);
    if (key !== null) {
      found.push(keyCredential(ctx, 'query', key, { kind: 'query', param }));
      if (cfg.credentials.hideCredentials) ctx.query = withoutParam(ctx.query, param);
    }
  }
  return { found, jwt };
}

/** A short-lived token is verified here (signature, expiry) so only its claims travel on. */
function verifyToken(ctx: DecisionContext, jwt: string): void | Promise<void> {
  const signer = ctx.gen.tokens;
  const now = Date.now();
  const accept = (r: VerifyResult): void => {
    if (!r.ok) {
      const code = r.reason === 'expired' ? 'token_expired' : 'invalid_key';
      throw new GatewayError(code, undefined, { headers: { 'www-authenticate': bearerChallenge('invalid_token', code) } });
    }
    must(ctx.credential, 'set by choose()').token = r.claims;
  };
  const cached = signer.cached(jwt, now);
  if (cached !== undefined) return accept(cached);
  return signer.verify(jwt, now).then(accept);
}

function choose(ctx: DecisionContext, found: PresentedCredential[]): void {
  const first = found[0];
  if (first === undefined) {
    if (ctx.orgKey !== null && ctx.gen.config.credentials.requireUserKey) throw new GatewayError('user_key_required');
    throw new GatewayError('missing_credentials', undefined, { headers: { 'www-authenticate': BEARER_CHALLENGE } });
  }
  if (found.some((c) => c.hash !== first.hash)) throw new GatewayError('ambiguous_credentials');
  ctx.credential = first;
}

/**
 * Routes that accept `body` read every JSON body (bounded by maxBytes), even when a header or
 * query credential came too: otherwise the upstream would act on a `userKey` nobody checked —
 * possibly another principal's (a confused deputy). A different key in the body is ambiguous; the
 * same key is removed like any hidden credential. An `orgToken` is held to the same rule.
 */
async function withBody(ctx: DecisionContext, found: PresentedCredential[]): Promise<void> {
  const b = ctx.gen.config.credentials.body;
  // The body must be read before the request is authorized: answer 100 Continue now.
  if (ctx.expectContinue) {
    ctx.res?.writeContinue();
    ctx.expectContinue = false;
  }
  const r = await readBodyCredential(ctx.req, { ...b, hide: ctx.gen.config.credentials.hideCredentials, budget: ctx.gen.bodyBudget });
  ctx.body = r.forward;
  if (r.orgKey !== null) {
    const hash = ctx.gen.hasher(r.orgKey);
    if (ctx.orgKey !== null && ctx.orgKey.hash !== hash) throw new GatewayError('ambiguous_credentials');
    ctx.orgKey ??= { hash, source: { kind: 'body', field: b.orgField } };
  }
  if (r.key !== null) found.push(keyCredential(ctx, 'body', r.key, { kind: 'body', field: b.field }));
  choose(ctx, found);
}

/** Does the request carry a body at all (RFC 9112 §6.3)? */
function hasBody(ctx: DecisionContext): boolean {
  const h = ctx.req.headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

/**
 * Stage: find the caller's credential, in whatever style the route accepts, and reduce it to a
 * hash. The body is read only on routes that accept `body`, and only for JSON — otherwise the
 * request keeps streaming.
 */
export function extractCredential(ctx: DecisionContext): void | Promise<void> {
  const accepted = acceptedStyles(ctx);
  const { found, jwt } = fromHeadersAndQuery(ctx, accepted);
  ctx.orgKey = orgKeyFromHeader(ctx.gen, ctx.req);
  if (accepted.has('body') && hasBody(ctx) && isJson(ctx.req)) return withBody(ctx, found).then(() => tokenClaims(ctx, jwt));
  choose(ctx, found);
  return tokenClaims(ctx, jwt);
}

function tokenClaims(ctx: DecisionContext, jwt: string | null): void | Promise<void> {
  if (jwt !== null && must(ctx.credential, 'choose() set it').style === 'token') return verifyToken(ctx, jwt);
}
