import type { AuditTrail } from '../../audit/trail.ts';
import type { UsageCounter } from '../../usage/counter.ts';
import { toCsv } from '../../audit/csv.ts';
import { AuditQueryError, DEFAULT_LIMIT, MAX_LIMIT, parseAuditFilter, type AuditFilter, type AuditPage } from '../../audit/query.ts';
import { MAX_DAYS } from '../../usage/counter.ts';
import { AdminError } from '../../lifecycle/errors.ts';
import { RawBody } from '../http.ts';
import type { AdminRoute, Call } from './routes.ts';

export interface AuditRouteDeps {
  trail: AuditTrail;
  usage: UsageCounter;
  /** Resolves a key id; throws AdminError('not_found') for an unknown one (Lifecycle.keys.get). */
  getKey(id: string): Promise<{ id: string }>;
}

/** CSV when asked by `format=csv` or by an Accept header preferring text/csv (RFC 9110 §12.5.1, simplified: first listed wins). */
function wantsCsv(c: Call): boolean {
  const format = c.query.get('format');
  if (format !== null) {
    if (format !== 'csv' && format !== 'json') throw new AdminError('invalid_input', 'format: csv or json', 'format');
    return format === 'csv';
  }
  const accept = c.headers['accept'] ?? '';
  const csv = accept.indexOf('text/csv');
  const json = accept.indexOf('application/json');
  return csv !== -1 && (json === -1 || csv < json);
}

/** The URL of the next page, for the CSV response's `Link: <…>; rel="next"` (RFC 8288). */
function nextLink(c: Call, cursor: string, filter: AuditFilter): string {
  const q = new URLSearchParams(c.query);
  // `since=24h` is resolved once: re-read on the next page it would have moved on.
  if (filter.sinceMs !== undefined) q.set('since', new Date(filter.sinceMs).toISOString());
  if (filter.untilMs !== undefined) q.set('until', new Date(filter.untilMs).toISOString());
  q.set('cursor', cursor);
  q.set('format', 'csv');
  return `</v1/audit?${q.toString()}>; rel="next"`;
}

function auditFilter(c: Call): AuditFilter {
  try {
    return parseAuditFilter((name) => c.query.get(name));
  } catch (e) {
    if (e instanceof AuditQueryError) throw new AdminError('invalid_input', e.message, e.field);
    throw e;
  }
}

async function auditPage(trail: AuditTrail, filter: AuditFilter): Promise<AuditPage> {
  try {
    return await trail.query(filter);
  } catch (e) {
    if (e instanceof AuditQueryError) throw new AdminError('invalid_input', e.message, e.field);
    // Redis answered, and refused the range: the query's fault, not an outage (which alerts would page on).
    if (e instanceof Error && e.name === 'ReplyError') throw new AdminError('invalid_input', 'The store refused this range or cursor');
    throw new AdminError('store_unavailable', 'The audit trail cannot be read: the store is unavailable');
  }
}

/** `GET /v1/audit` and `GET /v1/keys/{id}/usage`, for the admin route table. */
export function auditRoutes(deps: AuditRouteDeps): AdminRoute[] {
  return [
    {
      method: 'GET', path: '/v1/audit',
      summary: 'Audit events, newest first: authentication decisions and admin writes. JSON, or CSV with format=csv or Accept: text/csv',
      query: {
        principal: 'Principal id or name', key: 'Key id', route: 'Route name',
        decision: { description: 'Only events with this decision', schema: { enum: ['allowed', 'denied', 'error'] } },
        kind: { description: 'Only events of this kind', schema: { enum: ['request', 'token', 'admin'] } },
        since: 'From (inclusive): ISO 8601 time with zone, or a duration ago (24h, 7d)', until: 'To (exclusive): same forms as since',
        limit: { description: 'Events per page', schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT } },
        cursor: 'nextCursor of the previous page',
        format: { description: 'Response format (CSV also by Accept: text/csv)', schema: { enum: ['json', 'csv'], default: 'json' } },
      },
      ok: { status: 200, schema: 'AuditPage' },
      produces: ['text/csv'],
      async handle(c) {
        const csv = wantsCsv(c);
        const filter = auditFilter(c);
        const page = await auditPage(deps.trail, filter);
        if (!csv) return page;
        return new RawBody('text/csv; charset=utf-8; header=present', toCsv(page.items), {
          'content-disposition': 'attachment; filename="keygate-audit.csv"',
          ...(page.nextCursor === null ? {} : { link: nextLink(c, page.nextCursor, filter), 'x-next-cursor': page.nextCursor }),
        });
      },
    },
    {
      method: 'GET', path: '/v1/keys/{id}/usage',
      summary: 'Requests made with a key per UTC day, oldest first',
      query: { days: { description: 'Days up to today', schema: { type: 'integer', minimum: 1, maximum: MAX_DAYS, default: 30 } } },
      ok: { status: 200, schema: 'KeyUsage' },
      async handle(c) {
        const raw = c.query.get('days') ?? '30';
        if (!/^[0-9]{1,3}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_DAYS) {
          throw new AdminError('invalid_input', `days: an integer from 1 to ${MAX_DAYS}`, 'days');
        }
        const key = await deps.getKey(c.params['id'] as string); // the route template has {id}
        let days: Awaited<ReturnType<UsageCounter['counts']>>;
        try {
          days = await deps.usage.counts(key.id, Number(raw));
        } catch {
          throw new AdminError('store_unavailable', 'Key usage cannot be read: the store is unavailable');
        }
        return { keyId: key.id, days, total: days.reduce((n, d) => n + d.count, 0) };
      },
    },
  ];
}

const nullable = (type: string) => ({ type: [type, 'null'] });

/** Response schemas of these routes, to merge into `schemas` (admin/v1/schemas.ts). */
export const auditSchemas = {
  AuditEvent: {
    type: 'object',
    description: 'One authentication decision or admin write. Never a secret.',
    required: ['id', 'time', 'kind', 'requestId', 'decision'],
    properties: {
      id: { type: 'string', description: 'Position in the trail (Redis stream id or ring sequence)' },
      time: { type: 'string', format: 'date-time' },
      kind: { enum: ['request', 'token', 'admin'] },
      requestId: { type: 'string' },
      principalId: nullable('string'), principalName: nullable('string'), keyId: nullable('string'),
      credential: nullable('string'), route: nullable('string'), method: nullable('string'), path: nullable('string'),
      status: nullable('integer'),
      decision: { enum: ['allowed', 'denied', 'error'] },
      reason: { ...nullable('string'), description: 'The request\'s error code, e.g. invalid_key, forbidden, upstream_timeout' },
      latencyMs: nullable('number'), client: nullable('string'),
      action: { ...nullable('string'), description: 'Admin writes: principal.create, key.rotate, …' },
      target: nullable('string'),
      details: { type: ['object', 'null'] },
    },
  },
  AuditPage: {
    type: 'object', required: ['items', 'nextCursor'],
    properties: {
      items: { type: 'array', items: { $ref: '#/components/schemas/AuditEvent' } },
      nextCursor: { ...nullable('string'), description: 'Pass as cursor for older events; null at the end. A page may be short and still have one.' },
    },
  },
  KeyUsage: {
    type: 'object', required: ['keyId', 'days', 'total'],
    properties: {
      keyId: { type: 'string' },
      days: {
        type: 'array',
        items: { type: 'object', required: ['date', 'count'], properties: { date: { type: 'string', format: 'date' }, count: { type: 'integer', minimum: 0 } } },
      },
      total: { type: 'integer', minimum: 0 },
    },
  },
} as const;
