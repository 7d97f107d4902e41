/**
 * Baseline: fastify + @fastify/http-proxy with its defaults (undici via @fastify/reply-from),
 * logger off.
 * Usage: node bench/baselines/fastify-http-proxy.mjs <port> <upstream-origin>
 */
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';

const [port, upstream] = [Number(process.argv[2]), process.argv[3]];
const app = Fastify({ logger: false });
await app.register(proxy, { upstream });
await app.listen({ port, host: '127.0.0.1' });
console.log('ready');
