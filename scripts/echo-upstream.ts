/**
 * A demo upstream for the README's quick start: answers every request with the request it got
 * (request line, then each header as received), like traefik/whoami, so the X-Authenticated-*
 * headers keygate injects — and the absence of the caller's key — are there to see.
 *
 *   node scripts/echo-upstream.ts [PORT]      (scripts/dev echo; default $ECHO_PORT, else 3000)
 *
 * Loopback only: it reflects headers back, so it is a toy, never something to expose.
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? process.env['ECHO_PORT'] ?? 3000);
const server = createServer((req, res) => {
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${lines.join('\n')}\n`);
  });
});
server.listen(port, '127.0.0.1', () => process.stderr.write(`echo upstream on http://127.0.0.1:${port}\n`));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.close(() => process.exit(0)));
