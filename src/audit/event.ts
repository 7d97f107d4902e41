import { randomUUID } from 'node:crypto';
import type { DecisionContext } from '../context.ts';
import { ERRORS } from '../errors.ts';
import { maskKeys } from '../credentials/mask.ts';

/** `request`: a proxied request's auth decision; `token`: a token exchange; `admin`: an admin write. */
export type AuditKind = 'request' | 'token' | 'admin';

/** `denied`: the caller's credential or permissions were refused; `error`: a fault decided (store down, bug). */
export type AuditDecision = 'allowed' | 'denied' | 'error';

/**
 * One entry of the audit trail. Identifiers, names and outcomes only — never a secret, a header
 * value, a query string or a body. Fields that do not apply are null, so every event has the same
 * columns in CSV.
 */
export interface AuditEvent {
  /** ISO 8601 UTC, millisecond precision: when the request finished or the write happened. */
  time: string;
  kind: AuditKind;
  /** X-Request-Id of a proxied request; a fresh UUID for admin writes. */
  requestId: string;
  principalId: string | null;
  principalName: string | null;
  keyId: string | null;
  /** The credential style presented (bearer, apikey, …), null when none was. */
  credential: string | null;
  /** Config route name. */
  route: string | null;
  method: string | null;
  /** The normalized path (no query string: `?apiKey=` credentials live there). */
  path: string | null;
  /** The status the client got (499: it went away first). Null for admin writes. */
  status: number | null;
  decision: AuditDecision;
  /** The stable error code of the request (`invalid_key`, `forbidden`, `upstream_timeout`, …), if any. */
  reason: string | null;
  /** Arrival to end of response, in ms (µs precision). */
  latencyMs: number | null;
  /** The peer address of the connection. */
  client: string | null;
  /** Admin writes: `key.create`, `principal.disable`, … */
  action: string | null;
  /** Admin writes: the id of what was changed. */
  target: string | null;
  /** Admin writes: what changed (field names, ids — callers never pass secret values). */
  details: Record<string, unknown> | null;
}

/** An event as read back: with its position in the trail (stream id or ring sequence). */
export interface StoredAuditEvent extends AuditEvent {
  id: string;
}

/** Request-controlled text is capped so one request cannot inflate every copy of its event. */
const MAX_PATH = 512;
const MAX_METHOD = 32;

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

/**
 * A copy that holds only its own characters. The normalized path is a slice of the raw URL, and
 * V8 keeps the whole parent string (query string included, up to the header limit) alive for as
 * long as the slice lives: in a ring of 100k events, that is gigabytes.
 */
function own(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/** 4xx refusals are the caller's (bad credential, missing permission, malformed credential); 5xx are faults. */
function decisionOf(ctx: DecisionContext, status: number): AuditDecision {
  // Forwarded means every check passed; a later upstream failure is in `reason`, not the decision.
  if (ctx.forwarded || ctx.errorCode === null) return 'allowed';
  const known = (ERRORS as Record<string, { status: number } | undefined>)[ctx.errorCode];
  return (known?.status ?? status) < 500 ? 'denied' : 'error';
}

/**
 * The audit event of a finished proxied request, or null when the request involved no
 * authentication decision:
 * - public routes: nobody was authenticated, and anonymous traffic must not be able to push the
 *   real decisions out of a capped trail (they are counted in keygate_requests_total);
 * - unmatched (404) and malformed requests (bad path, oversized headers): refused before any
 *   route or credential was looked at — the same flooding argument, and the same metric.
 * A protected route's request always has an event, whether auth allowed, denied or failed.
 */
export function requestEvent(ctx: DecisionContext, status: number, now = Date.now()): AuditEvent | null {
  let kind: AuditKind;
  if (ctx.authNs !== null) kind = 'request';
  else if (ctx.match === null && ctx.gen.config.tokens.enabled && ctx.path === ctx.gen.config.tokens.path) kind = 'token';
  else return null;
  return {
    time: new Date(now).toISOString(),
    kind,
    requestId: ctx.id,
    principalId: ctx.principal?.id ?? null,
    principalName: ctx.principal?.name ?? null,
    keyId: ctx.key?.id ?? null,
    credential: ctx.credential?.style ?? ctx.malformedStyle,
    route: ctx.match?.route.name ?? null,
    method: ctx.req.method === undefined ? null : clip(ctx.req.method, MAX_METHOD),
    path: own(maskKeys(clip(ctx.path, MAX_PATH), ctx.gen.config.keys.prefix)),
    status,
    decision: kind === 'token' ? (status < 400 ? 'allowed' : status < 500 ? 'denied' : 'error') : decisionOf(ctx, status),
    reason: ctx.errorCode,
    latencyMs: Math.round(Number(process.hrtime.bigint() - ctx.start) / 1e3) / 1e3,
    client: ctx.req.socket?.remoteAddress ?? null,
    action: null,
    target: null,
    details: null,
  };
}

/** Who made an admin write. `id`/`keyId` when the caller authenticated with a keygate key. */
export interface AdminActor {
  name: string;
  id?: string;
  keyId?: string;
}

/** The audit event of an admin write that happened (refused writes change nothing and are not events). */
export function adminEvent(
  actor: AdminActor, action: string, target: string, details: Record<string, unknown>,
  opts: { requestId?: string; client?: string; now?: number } = {},
): AuditEvent {
  return {
    time: new Date(opts.now ?? Date.now()).toISOString(),
    kind: 'admin',
    requestId: opts.requestId ?? randomUUID(),
    principalId: actor.id ?? null,
    principalName: actor.name,
    keyId: actor.keyId ?? null,
    credential: null,
    route: null,
    method: null,
    path: null,
    status: null,
    decision: 'allowed',
    reason: null,
    latencyMs: null,
    client: opts.client ?? null,
    action,
    target,
    details,
  };
}
