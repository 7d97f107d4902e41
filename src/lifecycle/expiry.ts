import type { KeyRecord } from '../keystore/types.ts';
import { AdminError } from './errors.ts';

/**
 * Whether a key's expiry may become `at` (null: no expiry). Only a live key's: moving an expired
 * or revoked key's expiry would bring it back, and a rotated key's grace period is fixed by its
 * rotation (which never extends it). An instant already past is refused: ending a key now is
 * `POST /v1/keys/{id}/expire`, which says so in the audit trail.
 * The lifetime policy (keys.maxLifetime / requireExpiry) is checked after this, by
 * policy.ts `checkExpiryChange`.
 */
export function checkExpiryState(k: KeyRecord, at: Date | null, now: Date, status: string): void {
  if (k.rotatedTo !== undefined) throw new AdminError('conflict', `Key "${k.id}" was rotated; its grace period cannot change`);
  if (status !== 'active') throw new AdminError('conflict', `Key "${k.id}" is ${status}; its expiry cannot change`);
  if (at !== null && at.getTime() <= now.getTime()) {
    throw new AdminError('invalid_input', 'expiresAt: must be in the future (POST /v1/keys/{id}/expire ends a key now)', 'expiresAt');
  }
}
