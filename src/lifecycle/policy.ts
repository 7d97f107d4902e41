import type { KeysConfig } from '../config/types.ts';
import type { KeyRecord } from '../keystore/types.ts';
import { AdminError } from './errors.ts';

/** `keys.maxLifetime`, `keys.defaultLifetime`, `keys.requireExpiry` (issue 14), read per config generation. */
export type LifetimePolicy = Pick<KeysConfig, 'maxLifetimeMs' | 'defaultLifetimeMs' | 'requireExpiry'>;

export const NO_POLICY: LifetimePolicy = { maxLifetimeMs: null, defaultLifetimeMs: null, requireExpiry: false };

/** `90d`, `36h`: the largest whole unit, for messages. */
export function formatLifetime(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.ceil(ms / 1000)}s`;
}

const mustExpire = (p: LifetimePolicy): boolean => p.requireExpiry || p.maxLifetimeMs !== null;

/**
 * The lifetime a new (created or imported) key gets: the one asked for, else the default; refused
 * when it is beyond `maxLifetime` or absent where the policy requires one. Undefined: no expiry.
 */
export function lifetimeForNewKey(requestedMs: number | undefined, policy: LifetimePolicy): number | undefined {
  const ms = requestedMs ?? policy.defaultLifetimeMs ?? undefined;
  if (ms === undefined) {
    if (mustExpire(policy)) {
      throw new AdminError('key_expiry_required', `Keys must expire (keys.${policy.requireExpiry ? 'requireExpiry' : 'maxLifetime'}); send expiresIn${policy.maxLifetimeMs === null ? '' : ` of at most ${formatLifetime(policy.maxLifetimeMs)}`}`, 'expiresIn');
    }
    return undefined;
  }
  if (policy.maxLifetimeMs !== null && ms > policy.maxLifetimeMs) {
    throw new AdminError('key_lifetime_exceeded', `expiresIn: ${formatLifetime(ms)} is longer than keys.maxLifetime (${formatLifetime(policy.maxLifetimeMs)})`, 'expiresIn');
  }
  return ms;
}

/**
 * For an expiry set on an existing key (`PATCH /v1/keys/{id}` with `expiresAt`, branch
 * h11-openapi): refused when it lies beyond `createdAt + maxLifetime`, so a key cannot be
 * stretched past the policy it was issued under, or cleared (null) where keys must expire.
 * An expiry in the past is allowed: that is expiring the key.
 */
export function checkExpiryChange(key: Pick<KeyRecord, 'createdAt'>, expiresAt: Date | null, policy: LifetimePolicy, field = 'expiresAt'): void {
  if (expiresAt === null) {
    if (mustExpire(policy)) throw new AdminError('key_expiry_required', `${field}: keys must expire (keys.${policy.requireExpiry ? 'requireExpiry' : 'maxLifetime'})`, field);
    return;
  }
  if (policy.maxLifetimeMs !== null && expiresAt.getTime() - key.createdAt.getTime() > policy.maxLifetimeMs) {
    const limit = new Date(key.createdAt.getTime() + policy.maxLifetimeMs).toISOString();
    throw new AdminError('key_lifetime_exceeded', `${field}: later than the key's creation plus keys.maxLifetime (${formatLifetime(policy.maxLifetimeMs)}, until ${limit})`, field);
  }
}

/**
 * The lifetime of the key a rotation issues: the one asked for (checked like a new key's), else
 * the old key's own lifetime (expiresAt − createdAt), else the default; then held to
 * `maxLifetime`. Rotation is never refused for a lifetime the old key got under an older,
 * looser policy: rotating is how such a key is brought back into policy, so it is clamped.
 */
export function lifetimeForRotation(old: Pick<KeyRecord, 'createdAt' | 'expiresAt'>, requestedMs: number | undefined, policy: LifetimePolicy): number | undefined {
  if (requestedMs !== undefined) return lifetimeForNewKey(requestedMs, policy);
  const inherited = old.expiresAt === undefined ? undefined : Math.max(1, old.expiresAt.getTime() - old.createdAt.getTime());
  const ms = inherited ?? policy.defaultLifetimeMs ?? (mustExpire(policy) ? policy.maxLifetimeMs ?? undefined : undefined);
  if (ms === undefined) {
    if (mustExpire(policy)) throw new AdminError('key_expiry_required', 'Keys must expire (keys.requireExpiry) and neither the old key nor keys.defaultLifetime gives a lifetime; send expiresIn', 'expiresIn');
    return undefined;
  }
  return policy.maxLifetimeMs === null ? ms : Math.min(ms, policy.maxLifetimeMs);
}
