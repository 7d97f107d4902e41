import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SessionStore } from './session-store.ts';

/**
 * What signed in. Stored so every request re-checks it, not trusting the sign-in forever: a
 * key session ends when the key expires or its principal is disabled, a token session when the
 * admin token changes, a person's session when the principal is disabled or deleted.
 */
export type SessionCredential =
  /** The admin token, by a digest of it (compared with the configured token's on every use). */
  | { type: 'token'; tokenDigest: string }
  /** An admin key, by its store hash (as the key store itself holds it). */
  | { type: 'key'; keyHash: string }
  /** A person signed in through OIDC. */
  | { type: 'principal'; principalId: string };

export interface SessionRecord {
  credential: SessionCredential;
  csrfToken: string;
  /** ms since the epoch. */
  createdAt: number;
  lastSeenAt: number;
}

export interface SessionTimeouts {
  idleMs: number;
  maxAgeMs: number;
}

const NS = 'session';

/** 256 bits from the CSPRNG, base64url: the cookie value and the CSRF token. */
export const randomToken = (): string => randomBytes(32).toString('base64url');

/** The store's id for a cookie value: its SHA-256 (a 256-bit random value needs no slow hash). */
export const storeId = (cookieValue: string): string => createHash('sha256').update(cookieValue).digest('hex');

/** Whether a request's X-CSRF-Token is the session's (constant time over digests). */
export function csrfMatches(sent: string | string[] | undefined, expected: string): boolean {
  if (typeof sent !== 'string') return false;
  return timingSafeEqual(createHash('sha256').update(sent).digest(), createHash('sha256').update(expected).digest());
}

/** Cookie values are ours: base64url of 32 bytes. Anything else is not looked up at all. */
const WELL_FORMED = /^[A-Za-z0-9_-]{43}$/;

export interface Sessions {
  /** A new session: the cookie value (given to the browser once, stored only as a hash) and the record. */
  create(credential: SessionCredential): Promise<{ cookieValue: string; record: SessionRecord; expiresAt: number }>;
  /** The live session of a cookie value, its idle clock restarted; null when unknown, idle too long or too old. */
  use(cookieValue: string): Promise<{ record: SessionRecord; expiresAt: number } | null>;
  end(cookieValue: string): Promise<void>;
}

/**
 * Console sessions with an idle and an absolute timeout. Both are checked on every use against
 * the clock (not only left to the store's TTL), and the entry's TTL is the sooner of the two, so
 * an abandoned session also disappears from the store.
 */
export function createSessions(store: SessionStore, timeouts: () => SessionTimeouts, now: () => number = Date.now): Sessions {
  /** When the session ends if unused from `t` on: idle deadline capped by the absolute one. */
  const deadline = (r: SessionRecord, t: number, tm: SessionTimeouts) => Math.min(t + tm.idleMs, r.createdAt + tm.maxAgeMs);
  return {
    async create(credential) {
      const cookieValue = randomToken();
      const t = now();
      const record: SessionRecord = { credential, csrfToken: randomToken(), createdAt: t, lastSeenAt: t };
      const expiresAt = deadline(record, t, timeouts());
      await store.put(NS, storeId(cookieValue), JSON.stringify(record), expiresAt - t);
      return { cookieValue, record, expiresAt };
    },
    async use(cookieValue) {
      if (!WELL_FORMED.test(cookieValue)) return null;
      const id = storeId(cookieValue);
      const raw = await store.get(NS, id);
      if (raw === null) return null;
      const record = JSON.parse(raw) as SessionRecord;
      const t = now();
      const tm = timeouts();
      if (t >= deadline(record, record.lastSeenAt, tm)) {
        await store.delete(NS, id);
        return null;
      }
      record.lastSeenAt = t;
      const expiresAt = deadline(record, t, tm);
      await store.put(NS, id, JSON.stringify(record), expiresAt - t);
      return { record, expiresAt };
    },
    async end(cookieValue) {
      if (WELL_FORMED.test(cookieValue)) await store.delete(NS, storeId(cookieValue));
    },
  };
}
