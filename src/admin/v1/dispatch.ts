import type { IncomingMessage, ServerResponse } from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { AdminError } from '../../lifecycle/errors.ts';
import { RawBody, readJson, sendAdminError, sendJson, sendRaw } from '../http.ts';
import { schemas, type SchemaName } from './schemas.ts';
import { FORMATS } from './formats.ts';
import type { AdminCaller } from '../auth.ts';
import { adminActionOf } from '../permissions.ts';
import type { AdminRoute, Call } from './routes.ts';
import type { OwnKeysGuard } from './own-keys.ts';

interface Compiled {
  route: AdminRoute;
  /** The admin action this endpoint requires (`keygate:admin:keys:write`, …); null: any admin caller. */
  action: string | null;
  segments: string[];
  validate: ValidateFunction | null;
}

/** `{id}` segments match one path segment (percent-decoded). */
function matchPath(segments: string[], parts: string[]): Record<string, string> | null {
  if (segments.length !== parts.length) return null;
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as string;
    const p = parts[i] as string;
    if (s.startsWith('{')) {
      let v: string;
      try { v = decodeURIComponent(p); } catch { return null; }
      if (v === '') return null;
      params[s.slice(1, -1)] = v;
    } else if (s !== p) return null;
  }
  return params;
}

function firstProblem(v: ValidateFunction): AdminError {
  const e = v.errors?.[0];
  if (e === undefined) return new AdminError('invalid_input', 'Invalid body');
  const field = e.keyword === 'additionalProperties'
    ? String((e.params as { additionalProperty: string }).additionalProperty)
    : e.keyword === 'required' ? String((e.params as { missingProperty: string }).missingProperty)
    : e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const reason = e.keyword === 'additionalProperties' ? 'unknown field' : e.message ?? 'invalid';
  return new AdminError('invalid_input', `${field || 'body'}: ${reason}`, field || undefined);
}

/** Routes requests under /v1 to their handler after validating the body against its schema. */
export function createDispatcher(routes: AdminRoute[], ownKeys?: OwnKeysGuard) {
  const ajv = new Ajv2020({ allErrors: false, strict: false });
  for (const [name, re] of Object.entries(FORMATS)) ajv.addFormat(name, re);
  for (const [name, schema] of Object.entries(schemas)) ajv.addSchema(schema, `#/components/schemas/${name}`);
  const compiled: Compiled[] = routes.map((route) => ({
    route,
    action: route.access === 'any-admin' ? null : adminActionOf(route.method, route.path),
    segments: route.path.split('/'),
    validate: route.body === undefined ? null : (ajv.getSchema(`#/components/schemas/${route.body satisfies SchemaName}`) ?? null),
  }));

  return async function dispatch(req: IncomingMessage, res: ServerResponse, url: URL, caller: AdminCaller): Promise<void> {
    const parts = url.pathname.split('/');
    let allowed = false;
    for (const c of compiled) {
      const params = matchPath(c.segments, parts);
      if (params === null) continue;
      if (c.route.method !== req.method) { allowed = true; continue; }
      // Before the body is read: a refused caller's upload is never parsed.
      // keygate:admin:keys:own: the caller's own keys only (own-keys.ts narrows or refuses below).
      const may = c.action === null || caller.may(c.action);
      const own = !may && ownKeys !== undefined && ownKeys.applies(c.route, caller);
      if (!may && !own) throw new AdminError('forbidden', `Missing admin permission: ${c.action} (a key's scopes narrow its principal's roles)`);
      const body = await readJson(req);
      if (c.validate !== null && !c.validate(body)) throw firstProblem(c.validate);
      if (c.validate === null && Object.keys(body).length > 0) throw new AdminError('invalid_input', 'This operation takes no body');
      const call: Call = { params, query: url.searchParams, headers: req.headers, body, actor: caller.actor, caller };
      if (own) await ownKeys?.check(c.route, call, caller);
      const result = await c.route.handle(call);
      if (c.route.ok.status === 204) {
        res.writeHead(204, { 'cache-control': 'no-store' });
        res.end();
      } else if (result instanceof RawBody) sendRaw(res, c.route.ok.status, result);
      else sendJson(res, c.route.ok.status, result);
      return;
    }
    if (allowed) throw new AdminError('method_not_allowed', `${req.method} is not allowed here`);
    sendAdminError(res, new AdminError('not_found', 'No such admin endpoint'));
  };
}
