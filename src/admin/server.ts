import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.ts';

export type Readiness = { ready: true } | { ready: false; reason: string };

export interface AdminDeps {
  ready(): Readiness;
  logger: Logger;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * The admin listener (loopback by default): liveness and readiness for orchestrators. Kept on
 * its own port so it is never reachable through the proxy routes.
 */
export function createAdminServer(deps: AdminDeps): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: { code: 'method_not_allowed', message: 'Use GET' } });
    switch (path) {
      // Liveness: the process answers. Restarting it would not fix anything readiness reports.
      case '/healthz': return json(res, 200, { status: 'ok' });
      case '/readyz': {
        const r = deps.ready();
        return r.ready ? json(res, 200, { status: 'ready' }) : json(res, 503, { status: 'not_ready', reason: r.reason });
      }
      default: return json(res, 404, { error: { code: 'not_found', message: 'No such admin endpoint' } });
    }
  });
}
