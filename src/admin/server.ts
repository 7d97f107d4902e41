import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.ts';
import { AdminError } from '../lifecycle/errors.ts';
import type { AdminCaller } from './auth.ts';
import { sendAdminError, sendJson } from './http.ts';

export type Readiness = { ready: true; checks: Record<string, string> } | { ready: false; checks: Record<string, string> };

export interface AdminDeps {
  ready(): Readiness;
  logger: Logger;
  /** The /v1 API: authenticate, then dispatch. Absent: /v1 answers 404. */
  api?: {
    authenticate(req: IncomingMessage): Promise<AdminCaller>;
    dispatch(req: IncomingMessage, res: ServerResponse, url: URL, caller: AdminCaller): Promise<void>;
    openapi(): object;
  };
  /** `/console` and everything under it (src/admin/console/handler.ts). Absent: 404. */
  console?: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;
  /** Prometheus exposition: content type and text. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

/**
 * The admin listener (loopback by default): liveness, readiness, metrics and the /v1 API. It is
 * a separate port so none of it is reachable through the proxy's routes.
 */
export function createAdminServer(deps: AdminDeps): Server {
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const path = url.pathname;
    const read = req.method === 'GET' || req.method === 'HEAD';
    // Liveness: the process answers. Restarting it would not fix anything readiness reports.
    if (path === '/healthz' && read) return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz' && read) {
      const r = deps.ready();
      return sendJson(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not_ready', checks: r.checks });
    }
    if (path === '/metrics' && read && deps.metrics !== undefined) {
      const m = await deps.metrics();
      res.writeHead(200, { 'content-type': m.contentType, 'content-length': Buffer.byteLength(m.body) });
      return void res.end(m.body);
    }
    if (path === '/v1/openapi.json' && read && deps.api !== undefined) return sendJson(res, 200, deps.api.openapi());
    if ((path === '/console' || path.startsWith('/console/')) && deps.console !== undefined) return deps.console(req, res, url);
    if (path.startsWith('/v1/') && deps.api !== undefined) {
      const caller = await deps.api.authenticate(req);
      return deps.api.dispatch(req, res, url, caller);
    }
    throw new AdminError('not_found', 'No such admin endpoint');
  }

  return createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (e instanceof AdminError) {
        // A refused request may leave its body unread: close rather than parse it as the next request.
        if (!req.complete) res.setHeader('connection', 'close');
        return sendAdminError(res, e);
      }
      deps.logger.error({ err: e, path: (req.url ?? '').split('?')[0] }, 'admin request failed');
      if (!res.headersSent) sendAdminError(res, new AdminError('internal_error', 'Internal error; see the gateway log'));
      else res.destroy();
    });
  });
}
