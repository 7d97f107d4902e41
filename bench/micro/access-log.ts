/**
 * The access line, before and after issue 12: pino's serializer into sonic-boom's asynchronous
 * 1 KB writes (the landed code) against the line built directly into the 64 KiB batch sink.
 * Both write to a real file. `node bench/micro/access-log.ts`
 */
import { mkdtempSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { RequestContext } from '../../src/context.ts';
import { createAccessLog } from '../../src/log/access.ts';
import { createLogger, loggerOptions } from '../../src/log/logger.ts';
import { maskKeys } from '../../src/credentials/mask.ts';
import { compare } from './interleave.ts';

const dir = mkdtempSync(join(tmpdir(), 'keygate-micro-'));
const ctx = {
  id: '6f1c2a9e-4b7d-4e2a-9c1f-3d5e7a9b1c2d', start: process.hrtime.bigint(), path: '/api/applications/42/items', errorCode: null,
  gen: { config: { keys: { prefix: 'kg_' } } }, req: { method: 'GET', socket: { remoteAddress: '127.0.0.1' } },
  match: { route: { name: 'app-read' } }, principal: { id: 'p_8c1d2e' }, key: { id: 'k_93ab4f' }, credential: { style: 'bearer' },
} as unknown as RequestContext;

// The landed logger: sonic-boom, sync: false, minLength 1024, flushed every 250 ms.
const oldFile = join(dir, 'old.jsonl');
const stream = pino.destination({ dest: oldFile, sync: false, minLength: 1024 });
const oldLines = pino(loggerOptions('info', stream), stream).child({}, { redact: { paths: [] } });
const oldRequest = (c: RequestContext, status: number) =>
  oldLines.info({
    reqId: c.id, method: c.req.method, path: maskKeys(c.path, c.gen.config.keys.prefix), route: c.match?.route.name ?? null, status,
    durationMs: Number(process.hrtime.bigint() - c.start) / 1e6, principalId: c.principal?.id ?? null, keyId: c.key?.id ?? null,
    credential: c.credential?.style ?? null, error: c.errorCode, client: c.req.socket?.remoteAddress ?? null,
  }, 'request');
await new Promise((r) => stream.once('ready', r));

const newFile = join(dir, 'new.jsonl');
const access = createAccessLog(createLogger('info', newFile));

/** Waits for sonic-boom's in-flight writes, so their thread-pool CPU lands in this round. */
const settle = () => new Promise<void>((r) => stream.flush(() => r()));
await compare('access log line', [
  { name: 'pino + sonic-boom (landed)', async run(n) { for (let i = 0; i < n; i++) oldRequest(ctx, 200); await settle(); truncateSync(oldFile); } },
  { name: 'direct line + batch sink', run(n) { for (let i = 0; i < n; i++) access.request(ctx, 200); truncateSync(newFile); } },
], { n: 200_000, rounds: Number(process.env['ROUNDS'] ?? 8) });
