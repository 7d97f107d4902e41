import type { Generation } from '../generation.ts';
import type { PresentedOrgKey, RequestView } from '../context.ts';
import { singleRawHeader } from './raw-headers.ts';

/**
 * The org key header (Contrast `API-Key`), hashed like any secret. Read when the service-key
 * style is on, and under `requireOrgKey` whatever the styles: a required org key must have a
 * header to arrive in on routes that read no body.
 */
export function orgKeyFromHeader(gen: Generation, req: RequestView): PresentedOrgKey | null {
  const sk = gen.config.credentials.serviceKey;
  if (!sk.enabled && !sk.requireOrgKey) return null;
  const name = sk.orgHeader.toLowerCase();
  const value = singleRawHeader(req, name);
  return value === undefined ? null : { hash: gen.hasher(value.trim()), source: { kind: 'header', name } };
}

/** What the org rule made of a request: refused (401 `invalid_org_key`), or the org its key proved (none sent: null). */
export type OrgKeyCheck = { refused: true } | { refused: false; org: string | null };

/**
 * The org rule for an authenticated principal, the same for every credential style and for the
 * token exchange. An org key, when presented, must be one of the principal's own org. Under
 * `requireOrgKey` one must be presented by every principal of an org, whatever carries its key
 * (Bearer, APIKEY, service key, body, query, a short-lived token): "required" cannot depend on
 * the Authorization scheme the client picks. A principal without an org has no org key to send,
 * except in the service-key style, whose org header is the point of the style (always refused).
 */
export function checkOrgKey(gen: Generation, presented: PresentedOrgKey | null, principalOrg: string | undefined, serviceKeyStyle: boolean): OrgKeyCheck {
  if (presented !== null) {
    const org = gen.orgKeys.get(presented.hash);
    return org === undefined || org !== principalOrg ? { refused: true } : { refused: false, org };
  }
  const required = gen.config.credentials.serviceKey.requireOrgKey && (principalOrg !== undefined || serviceKeyStyle);
  return required ? { refused: true } : { refused: false, org: null };
}
