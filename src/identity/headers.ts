import type { IdentityConfig } from '../config/types.ts';
import type { KeyRecord, PrincipalRecord } from '../keystore/types.ts';

/**
 * Is this inbound header one the client must never be able to set? (name is lower case) The
 * whole family counts, the bare family name too (`X-Authenticated`, which some apps read as a
 * flag). Callers fold `_` into `-` first where `_` names are let through.
 */
export function isIdentityHeader(lowerName: string, cfg: IdentityConfig): boolean {
  return lowerName.startsWith(cfg.prefix) || lowerName.length === cfg.prefix.length - 1 && cfg.prefix.startsWith(lowerName)
    || lowerName === cfg.names.user.toLowerCase() || cfg.strip.includes(lowerName);
}

/** The identity headers sent upstream for an authenticated request, as a flat name/value list. */
export function identityHeaders(cfg: IdentityConfig, principal: PrincipalRecord, key: KeyRecord): string[] {
  const n = cfg.names;
  const out = [
    n.user, principal.name,
    n.id, principal.id,
    n.kind, principal.kind,
    n.keyId, key.id,
    n.roles, principal.roles.join(','),
  ];
  if (principal.org !== undefined) out.push(n.org, principal.org);
  return out;
}
