import { AdminError } from '../../lifecycle/errors.ts';

/** @default 100 items per page when `limit` is absent. */
export const DEFAULT_LIMIT = 100;
/** The largest page a client may ask for. */
export const MAX_LIMIT = 1000;

/** A page request after parsing: `after` is the id the cursor stands for. */
export interface PageQuery {
  after?: string;
  limit: number;
}

/**
 * `?limit=` and `?cursor=` of a listing (the Stripe/Kong shape: `{ items, nextCursor }`, null at
 * the end). The cursor is opaque to clients; today it is the base64url of the last item's id,
 * which lets the stores page in id order, stable under concurrent inserts.
 */
export function parsePageQuery(query: URLSearchParams): PageQuery {
  const rawLimit = query.get('limit');
  let limit = DEFAULT_LIMIT;
  if (rawLimit !== null) {
    if (!/^[0-9]{1,4}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > MAX_LIMIT) {
      throw new AdminError('invalid_input', `limit: an integer from 1 to ${MAX_LIMIT}`, 'limit');
    }
    limit = Number(rawLimit);
  }
  const cursor = query.get('cursor');
  return cursor === null ? { limit } : { after: decodeCursor(cursor), limit };
}

export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const id = /^[A-Za-z0-9_-]{1,700}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  // Round trip: anything this server did not hand out is refused rather than guessed at.
  if (id === '' || encodeCursor(id) !== cursor) throw new AdminError('invalid_input', 'cursor: not a cursor this API returned (pass nextCursor as is)', 'cursor');
  return id;
}

/** The query parameters of a paginated listing, for the route table (typed for the OpenAPI document). */
export const PAGE_QUERY = {
  limit: { description: `Items per page (default ${DEFAULT_LIMIT})`, schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT } },
  cursor: { description: 'nextCursor of the previous page, as returned (opaque)', schema: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' } },
} as const;
