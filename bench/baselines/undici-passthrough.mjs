/**
 * Baseline: the least a Node proxy can do. node:http in, one undici Pool out (keep-alive),
 * pool.stream() writing the upstream body straight into the client response. No routing, no
 * auth, no logging: keygate's target is >= 90% of this.
 * Usage: node bench/baselines/undici-passthrough.mjs <port> <upstream-origin>
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [port, origin] = [Number(process.argv[2]), process.argv[3]];
// Same connection cap as keygate's default upstream pool.
const pool = new Pool(origin, { connections: 128, pipelining: 1 });
// Hop-by-hop headers (RFC 9110 §7.6.1): not forwarded, and undici refuses some of them.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'expect']);

function strip(headers) {
  const out = {};
  for (const k in headers) if (!HOP.has(k)) out[k] = headers[k];
  return out;
}

createServer((req, res) => {
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  pool.stream(
    { path: req.url, method: req.method, headers: strip(req.headers), body: hasBody ? req : null },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, strip(headers));
      return res;
    },
    (err) => {
      if (err === null) return;
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy(err);
    },
  );
}).listen(port, '127.0.0.1', () => console.log('ready'));
