import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/**
 * A real CGI-style upstream: Python's wsgiref server, which builds the WSGI environ the way
 * CGI does (`X-Foo` and `X_Foo` both become `HTTP_X_FOO`). It answers every request with a
 * JSON object of the environ's HTTP_* variables, so tests see what a WSGI app would read.
 */
export interface WsgiUpstream {
  url: string;
  port: number;
  close(): Promise<void>;
}

const SERVER = `
import json
from wsgiref.simple_server import make_server, WSGIRequestHandler
class Quiet(WSGIRequestHandler):
    def log_message(self, *a): pass
def app(environ, start):
    seen = {k: v for k, v in environ.items() if k.startswith('HTTP_') or k in ('CONTENT_LENGTH', 'REQUEST_METHOD', 'PATH_INFO')}
    body = json.dumps(seen).encode()
    start('200 OK', [('Content-Type', 'application/json'), ('Content-Length', str(len(body)))])
    return [body]
srv = make_server('127.0.0.1', 0, app, handler_class=Quiet)
print(srv.server_port, flush=True)
srv.serve_forever()
`;

export async function startWsgiUpstream(): Promise<WsgiUpstream> {
  const child = spawn('python3', ['-c', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const [first] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(() => { throw new Error('the WSGI upstream exited before listening'); }),
  ])) as [string];
  const port = Number(first);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      lines.close();
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
