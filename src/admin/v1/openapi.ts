import { schemas } from './schemas.ts';
import type { AdminRoute } from './routes.ts';
import { adminActionOf } from '../permissions.ts';
import { ADMIN_ERRORS, type AdminErrorCode } from '../../lifecycle/errors.ts';
import { exampleBody } from './error-examples.ts';
import { LIST_ITEM_EXAMPLES, SUCCESS_EXAMPLES } from './success-examples.ts';
import { SESSION_COOKIE } from '../console/cookies.ts';

/**
 * Refusals every /v1 operation can answer, whatever it does: the caller is authenticated before
 * routing (401, 403, and 503 when the key store cannot resolve an admin key; session_required
 * for the console's cookie; 429 once the client's address has sent too many wrong credentials), and any request may carry a body, which is read, size-checked and
 * type-checked before validation (400, 413, 415).
 */
const COMMON: readonly AdminErrorCode[] = [
  'invalid_input', 'unauthorized', 'key_pair_secret_not_credential', 'session_required', 'forbidden',
  'payload_too_large', 'unsupported_media_type', 'store_unavailable',
  // Wrong credentials are counted per client address before routing (limiter.refusedCredentials).
  'too_many_failed_credentials',
];

const WHY: Record<AdminErrorCode, string> = {
  invalid_input: 'invalid_input: a body field or query parameter is not acceptable (`error.field` names it)',
  unauthorized: 'unauthorized: no admin credential, or not a valid one',
  session_required: 'session_required: the console session cookie is unknown or its session ended; sign in again',
  oidc_failed: 'oidc_failed: the OpenID Connect sign-in could not be completed',
  oidc_unavailable: 'oidc_unavailable: the OpenID Connect provider could not be reached; try again',
  csrf_failed: 'csrf_failed: a write with the session cookie lacks the session\'s X-CSRF-Token',
  scopes_not_held: 'scopes_not_held: a caller with keygate:admin:keys:own gave a new key scopes its own credential does not hold',
  key_lifetime_exceeded: 'key_lifetime_exceeded: the expiry is beyond keys.maxLifetime',
  key_expiry_required: 'key_expiry_required: keys must expire here (keys.requireExpiry or keys.maxLifetime)',
  console_not_built: 'console_not_built',
  key_pair_secret_not_credential: 'key_pair_secret_not_credential: a key pair secret was presented; exchange it for a token',
  forbidden: 'forbidden: the credential lacks this operation\'s admin action (`x-keygate-action`): the principal\'s roles or the key\'s scopes',
  not_found: 'not_found: no such principal, key or group',
  method_not_allowed: 'method_not_allowed',
  conflict: 'conflict: a duplicate, or not allowed in the record\'s current state',
  key_limit_reached: 'key_limit_reached: the principal already holds its maximum of live keys',
  read_only: 'read_only: the principal is declared in the config file',
  payload_too_large: 'payload_too_large: the body exceeds 64 KiB',
  unsupported_media_type: 'unsupported_media_type: a body that is not application/json',
  internal_error: 'internal_error',
  store_unavailable: 'store_unavailable: the key store is unavailable; nothing was changed',
  too_many_failed_credentials: 'too_many_failed_credentials: this address sent too many wrong admin credentials lately (limiter.refusedCredentials); retry later',
  outcome_unknown: 'outcome_unknown: a write was sent but not confirmed; look up `error.resource` before retrying',
};

/** The refusal codes an operation can answer: COMMON, plus what its shape and its route entry add. */
export function refusalsOf(r: AdminRoute): AdminErrorCode[] {
  const codes = new Set<AdminErrorCode>(COMMON);
  if (r.path.includes('{')) codes.add('not_found');
  if (r.method !== 'GET') {
    codes.add('csrf_failed'); // cookie-authenticated writes (admin/auth.ts)
    codes.add('outcome_unknown'); // every lifecycle write is confirmed (service.ts `confirmed`)
  }
  for (const c of r.refuses ?? []) codes.add(c);
  return [...codes];
}

function ref(name: string) {
  return { $ref: `#/components/schemas/${name}` };
}

/** `{ items }` (a whole list) and `{ items, nextCursor }` (a page) schemas, named for client generators. */
function collectionSchemas(routes: AdminRoute[]): Record<string, object> {
  const out: Record<string, object> = {};
  for (const r of routes) {
    const s = r.ok.schema;
    if (s === null || typeof s !== 'object') continue;
    if ('list' in s) out[`${s.list}List`] = { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref(s.list) } } };
    else {
      out[`${s.page}Page`] = {
        type: 'object', required: ['items', 'nextCursor'],
        properties: {
          items: { type: 'array', items: ref(s.page) },
          nextCursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null on the last page. Opaque: keep it as is.' },
        },
      };
    }
  }
  return out;
}

function okSchemaName(r: AdminRoute): string | null {
  const s = r.ok.schema;
  if (s === null) return null;
  if (typeof s !== 'object') return s;
  return 'list' in s ? `${s.list}List` : `${s.page}Page`;
}

function okExample(r: AdminRoute): unknown {
  const s = r.ok.schema;
  if (s === null) return undefined;
  if (typeof s !== 'object') return SUCCESS_EXAMPLES[s];
  const name = 'list' in s ? s.list : s.page;
  const item = LIST_ITEM_EXAMPLES[name] ?? SUCCESS_EXAMPLES[name];
  if (item === undefined) return undefined;
  return 'list' in s ? { items: [item] } : { items: [item], nextCursor: 'a2V5XzRmVDl4MFFhMUxtMlpwN1ljM1ZiOE53' };
}

/** The OpenAPI 3.1 document of the admin API, generated from the route table that serves it. */
export function openApiDocument(routes: AdminRoute[], version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of routes) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const query = Object.entries(r.query ?? {}).map(([name, q]) => ({
      name, in: 'query', required: false,
      ...(typeof q === 'string' ? { description: q, schema: { type: 'string' } } : { description: q.description, schema: q.schema }),
    }));
    const okName = okSchemaName(r);
    const example = okExample(r);
    const examples = r.okExamples ?? (example === undefined ? undefined : { example: { value: example } });
    const okContent = okName === null ? undefined
      : {
        'application/json': { schema: ref(okName), ...(examples === undefined ? {} : { examples }) },
        ...Object.fromEntries((r.produces ?? []).map((t) => [t, { schema: { type: 'string' } }])),
      };
    const responses: Record<string, object> = {
      [String(r.ok.status)]: { description: 'Success', ...(okContent === undefined ? {} : { content: okContent }) },
    };
    const action = r.access === 'any-admin' ? null : adminActionOf(r.method, r.path);
    const byStatus = new Map<number, AdminErrorCode[]>();
    for (const code of refusalsOf(r)) byStatus.set(ADMIN_ERRORS[code], [...(byStatus.get(ADMIN_ERRORS[code]) ?? []), code]);
    for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
      responses[String(status)] = {
        description: codes.map((c) => WHY[c]).join('; '),
        content: {
          'application/json': {
            schema: ref('Error'),
            examples: Object.fromEntries(codes.map((c) => [c, { summary: c, value: exampleBody(c, r, action) }])),
          },
        },
      };
    }
    (paths[r.path] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary,
      ...(action === null
        ? { description: 'Any authenticated admin caller: the admin token, or a key or console session whose principal (narrowed by the key\'s scopes) holds at least one admin action.', 'x-keygate-access': 'any-admin' }
        : { description: `Requires \`${action}\` (or \`keygate:admin\`).`, 'x-keygate-action': action }),
      operationId: `${r.method.toLowerCase()}${r.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)/g, (_m, c: string) => c.toUpperCase())}`,
      parameters: [...params, ...query],
      ...(r.body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: ref(r.body) } } } }),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'keygate admin API', version, description: 'Principals, keys and groups. Authenticate with `Authorization: Bearer <KEYGATE_ADMIN_TOKEN>` or a keygate key whose principal holds the operation\'s admin action (`x-keygate-action`, or `keygate:admin` for all); a key\'s scopes narrow it further. Lists of principals, keys and groups are paginated: `?limit=` (1-1000, default 100) and `?cursor=` (the previous page\'s `nextCursor`), in a stable order (by id; groups by name) that concurrent writes do not shift.' },
    servers: [{ url: '/' }],
    // The cookie is the console's (same origin, with X-CSRF-Token on writes); scripts use bearer.
    security: [{ bearer: [] }, { session: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE } },
      schemas: { ...schemas, ...collectionSchemas(routes) },
    },
    paths,
  };
}
