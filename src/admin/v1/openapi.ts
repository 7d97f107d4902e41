import { schemas } from './schemas.ts';
import type { AdminRoute } from './routes.ts';
import { adminActionOf } from '../permissions.ts';

const ERROR_RESPONSES = {
  '400': 'Invalid input: the field and the reason',
  '401': 'Missing or wrong admin credential',
  '403': 'The credential lacks the admin action this operation requires (x-keygate-action): the principal\'s roles or the key\'s scopes',
  '404': 'No such principal, key or group',
  '409': 'Duplicate, key limit reached, or not allowed in this state',
  '503': 'The key store is unavailable; nothing was changed',
};

function ref(name: string) {
  return { $ref: `#/components/schemas/${name}` };
}

/** The OpenAPI 3.1 document of the admin API, generated from the route table that serves it. */
export function openApiDocument(routes: AdminRoute[], version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of routes) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const query = Object.entries(r.query ?? {}).map(([name, description]) => ({ name, in: 'query', required: false, description, schema: { type: 'string' } }));
    const s = r.ok.schema;
    const okContent = s === null ? undefined
      : typeof s === 'object' ? { 'application/json': { schema: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref(s.list) } } } } }
      : { 'application/json': { schema: ref(s) }, ...Object.fromEntries((r.produces ?? []).map((t) => [t, { schema: { type: 'string' } }])) };
    const responses: Record<string, object> = {
      [String(r.ok.status)]: { description: 'Success', ...(okContent === undefined ? {} : { content: okContent }) },
    };
    for (const [code, description] of Object.entries(ERROR_RESPONSES)) responses[code] = { description, content: { 'application/json': { schema: ref('Error') } } };
    const action = adminActionOf(r.method, r.path);
    (paths[r.path] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary,
      description: `Requires \`${action}\` (or \`keygate:admin\`).`,
      'x-keygate-action': action,
      operationId: `${r.method.toLowerCase()}${r.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)/g, (_m, c: string) => c.toUpperCase())}`,
      parameters: [...params, ...query],
      ...(r.body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: ref(r.body) } } } }),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'keygate admin API', version, description: 'Principals, keys and groups. Authenticate with `Authorization: Bearer <KEYGATE_ADMIN_TOKEN>` or a keygate key whose principal holds the operation\'s admin action (`x-keygate-action`, or `keygate:admin` for all); a key\'s scopes narrow it further.' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas },
    paths,
  };
}
