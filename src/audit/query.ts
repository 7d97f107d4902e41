import { parseDuration } from '../config/duration.ts';
import type { AuditDecision, AuditEvent, AuditKind, StoredAuditEvent } from './event.ts';

/**
 * A query of the trail. Results are newest first (the question is usually "what just
 * happened?"); `nextCursor` continues towards older events. Time bounds are half-open,
 * [since, until), so adjacent windows never count an event twice.
 */
export interface AuditFilter {
  /** Principal id or name. */
  principal?: string;
  key?: string;
  route?: string;
  decision?: AuditDecision;
  kind?: AuditKind;
  /** Epoch ms, inclusive. */
  sinceMs?: number;
  /** Epoch ms, exclusive. */
  untilMs?: number;
  /** @default 100 (at most 1000) */
  limit: number;
  /** Opaque: where the previous page stopped. */
  cursor?: string;
}

export interface AuditPage {
  items: StoredAuditEvent[];
  /**
   * Null when there is nothing older. A page may hold fewer than `limit` items (even none) and
   * still have a cursor: a query scans a bounded stretch of the trail per call.
   */
  nextCursor: string | null;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** A query parameter that cannot be used, with its name. */
export class AuditQueryError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'AuditQueryError';
    this.field = field;
  }
}

const MAX_AHEAD_MS = 366 * 86_400_000;
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;
const DECISIONS: readonly string[] = ['allowed', 'denied', 'error'] satisfies AuditDecision[];
const KINDS: readonly string[] = ['request', 'token', 'admin'] satisfies AuditKind[];

/** `2026-05-01`, `2026-05-01T12:00:00Z` (a zone is required with a time), or relative: `24h`, `30m`, `7d` ago. */
export function parseTime(text: string, field: string, now: number): number {
  const ago = parseDuration(text);
  let t: number | null = null;
  if (ago !== null) t = now - ago;
  else if (ISO.test(text)) t = Date.parse(text);
  // Stream ids are ms since 1970: a bound before it (or absurdly far ahead) is a mistake, not a query.
  if (t !== null && !Number.isNaN(t)) {
    if (t < 0 || t > now + MAX_AHEAD_MS) throw new AuditQueryError(field, 'between 1970 and one year from now');
    return t;
  }
  throw new AuditQueryError(field, 'an ISO 8601 time with a zone (2026-05-01T12:00:00Z) or a duration ago (24h, 30m, 7d)');
}

/** Reads the query parameters of `GET /v1/audit` (and the CLI's flags). */
export function parseAuditFilter(get: (name: string) => string | null | undefined, now = Date.now()): AuditFilter {
  const filter: AuditFilter = { limit: DEFAULT_LIMIT };
  const text = (name: string): string | undefined => {
    const v = get(name);
    if (v === null || v === undefined || v === '') return undefined;
    if (v.length > 200) throw new AuditQueryError(name, 'at most 200 characters');
    return v;
  };
  const principal = text('principal');
  if (principal !== undefined) filter.principal = principal;
  const key = text('key');
  if (key !== undefined) filter.key = key;
  const route = text('route');
  if (route !== undefined) filter.route = route;
  const decision = text('decision');
  if (decision !== undefined) {
    if (!DECISIONS.includes(decision)) throw new AuditQueryError('decision', 'one of allowed, denied, error');
    filter.decision = decision as AuditDecision;
  }
  const kind = text('kind');
  if (kind !== undefined) {
    if (!KINDS.includes(kind)) throw new AuditQueryError('kind', 'one of request, token, admin');
    filter.kind = kind as AuditKind;
  }
  const since = text('since');
  if (since !== undefined) filter.sinceMs = parseTime(since, 'since', now);
  const until = text('until');
  if (until !== undefined) filter.untilMs = parseTime(until, 'until', now);
  if (filter.sinceMs !== undefined && filter.untilMs !== undefined && filter.untilMs <= filter.sinceMs) {
    throw new AuditQueryError('until', 'must be later than since');
  }
  const limit = text('limit');
  if (limit !== undefined) {
    if (!/^[0-9]{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LIMIT) throw new AuditQueryError('limit', `an integer from 1 to ${MAX_LIMIT}`);
    filter.limit = Number(limit);
  }
  const cursor = text('cursor');
  if (cursor !== undefined) filter.cursor = cursor;
  return filter;
}

/** Does the event pass every filter but the cursor? */
export function matches(e: AuditEvent, f: AuditFilter): boolean {
  if (f.principal !== undefined && e.principalId !== f.principal && e.principalName !== f.principal) return false;
  if (f.key !== undefined && e.keyId !== f.key) return false;
  if (f.route !== undefined && e.route !== f.route) return false;
  if (f.decision !== undefined && e.decision !== f.decision) return false;
  if (f.kind !== undefined && e.kind !== f.kind) return false;
  if (f.sinceMs !== undefined || f.untilMs !== undefined) {
    const t = Date.parse(e.time);
    if (f.sinceMs !== undefined && t < f.sinceMs) return false;
    if (f.untilMs !== undefined && t >= f.untilMs) return false;
  }
  return true;
}

/**
 * Cursors are opaque to clients but tagged by the trail that made them (`r` Redis stream id,
 * `m` ring sequence), so one from another trail is refused instead of silently misread.
 */
export function encodeCursor(tag: 'r' | 'm', position: string): string {
  return Buffer.from(`${tag}:${position}`).toString('base64url');
}

export function decodeCursor(tag: 'r' | 'm', cursor: string, valid: RegExp): string {
  const text = /^[A-Za-z0-9_-]{1,100}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString() : '';
  const position = text.startsWith(`${tag}:`) ? text.slice(2) : '';
  if (!valid.test(position)) throw new AuditQueryError('cursor', 'not a cursor of this trail; pass nextCursor from the previous page');
  return position;
}
