import type { DecisionContext } from '../context.ts';
import { GatewayError, type ErrorCode } from '../errors.ts';
import { bearerChallenge } from '../credentials/bearer.ts';
import type { KeyResolver, Resolution } from './resolve.ts';
import type { KeyRecord } from './types.ts';
import { must } from '../must.ts';
import { checkOrgKey } from '../credentials/org-key.ts';

type Refusal = Exclude<Resolution['status'], 'valid'>;

const REFUSALS: Record<Refusal, ErrorCode> = {
  not_found: 'invalid_key',
  expired: 'key_expired',
  revoked: 'key_revoked',
  principal_disabled: 'principal_disabled',
};

function refuse(code: ErrorCode): GatewayError {
  return new GatewayError(code, undefined, { headers: { 'www-authenticate': bearerChallenge('invalid_token', code) } });
}

/**
 * Stage: resolve the credential to a principal. Every refusal is a 401 with its own code, and
 * "no such key" and "not this user's key" get the same answer (no oracle for guessing).
 */
export function authenticate(resolver: KeyResolver, onAuthenticated?: (key: KeyRecord, now: number) => void) {
  function accept(ctx: DecisionContext, r: Resolution): void {
    if (r.status === 'not_found') throw refuse(REFUSALS.not_found);
    // The key was found by its hash: its ids go to the access log and the audit trail even when
    // it is refused ("who still uses the key I expired"). The caller learns nothing from that, and
    // only an accepted request is forwarded with an identity (errorCode says which it was).
    ctx.key = r.key;
    ctx.principal = r.principal;
    const c = must(ctx.credential, 'extractCredential ran first');
    // A key pair's secret is only ever exchanged for a short-lived token (POST tokens.path):
    // accepted as a key, it would be a never-expiring way around the token model.
    if (c.token === undefined && r.key.type === 'key_pair') throw refuse('key_pair_secret_not_credential');
    if (r.status !== 'valid') throw refuse(REFUSALS[r.status]);
    // Contrast service keys: the user name sent with the key must be the key's principal.
    if (c.claimedUser !== undefined && c.claimedUser !== r.principal.name) throw refuse('invalid_key');
    // Tokens: only key pairs mint them, and the token must name the principal the key still has.
    if (c.token !== undefined && (r.key.type !== 'key_pair' || r.principal.id !== c.token.principalId)) throw refuse('invalid_key');
    // The org key: of the principal's own org when sent, and under requireOrgKey sent by every
    // principal of an org in every style, tokens included (credentials/org-key.ts).
    const org = checkOrgKey(ctx.gen, ctx.orgKey, r.principal.org, c.style === 'service_key');
    if (org.refused) throw refuse('invalid_org_key');
    ctx.org = org.org;
    onAuthenticated?.(r.key, Date.now());
  }
  return function authenticateStage(ctx: DecisionContext): void | Promise<void> {
    const c = ctx.credential;
    if (c === null) return;
    const now = Date.now();
    const r = c.token !== undefined ? resolver.resolveId(c.token.keyId, now) : resolver.resolve(c.hash, now);
    if (r instanceof Promise) return r.then((v) => accept(ctx, v));
    accept(ctx, r);
  };
}
