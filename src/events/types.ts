/**
 * Lifecycle events (issue 14): what happened to a key or principal, delivered to configured
 * webhooks. An event never carries a secret, a hash or a credential: ids, names and times only,
 * so a receiver's logs are as safe as keygate's own.
 */

export const EVENT_TYPES = [
  'key.created', 'key.expiring', 'key.expired', 'key.rotated', 'key.revoked', 'principal.disabled', 'limit.exceeded',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The expiry warning windows, longest first (also the `window` label of keygate_keys_expiring). */
export const EXPIRY_WINDOWS = ['7d', '1d'] as const;
export type ExpiryWindow = (typeof EXPIRY_WINDOWS)[number];

interface KeyRef {
  keyId: string;
  principalId: string;
  /** RFC 3339, when the key stops (or stopped) working; null: never. */
  expiresAt: string | null;
}

/** Each type's `data`. */
export interface EventData {
  'key.created': KeyRef & { imported: boolean; createdBy: string };
  'key.expiring': KeyRef & { window: ExpiryWindow };
  'key.expired': KeyRef;
  /** `keyId` is the new key; `previousKeyId` keeps working until `previousExpiresAt` (the grace period). */
  'key.rotated': KeyRef & { previousKeyId: string; previousExpiresAt: string | null; by: string };
  /** Expired at once by an admin (`POST /v1/keys/{id}/expire`) or deleted. */
  'key.revoked': KeyRef & { reason: 'expired_by_admin' | 'deleted'; by: string };
  'principal.disabled': { principalId: string; name: string; by: string };
  /**
   * Sampled by the limiter (at most a few per limit and second), never one per refused request.
   * `limit` is the policy name; the rest names who was counted.
   */
  'limit.exceeded': { limit: string; kind: 'rate' | 'quota' | 'refused_credentials'; per: string; keyId?: string; principalId?: string; org?: string; route?: string };
}

/** One event as delivered: `id` is unique per event and stable across retries, for receivers to deduplicate on. */
export type KeygateEvent = { [T in EventType]: { id: string; type: T; at: string; data: EventData[T] } }[EventType];

export type EventOf<T extends EventType> = Extract<KeygateEvent, { type: T }>;
