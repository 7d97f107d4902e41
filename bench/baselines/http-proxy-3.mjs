/**
 * Baseline: http-proxy-3 on its default node:http path with a keep-alive Agent.
 * Usage: node bench/baselines/http-proxy-3.mjs <port> <upstream-origin>
 */
import { createServer, Agent } from 'node:http';
import { createProxyServer } from 'http-proxy-3';

const [port, target] = [Number(process.argv[2]), process.argv[3]];
const proxy = createProxyServer({ target, agent: new Agent({ keepAlive: true }) });
proxy.on('error', (_err, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502).end();
  else res.destroy();
});
createServer((req, res) => proxy.web(req, res)).listen(port, '127.0.0.1', () => console.log('ready'));
