import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import type { RequestContext } from '../../../src/context.ts';
import { createAccessLog } from '../../../src/log/access.ts';
import { createLogger, loggerOptions, sinkOf } from '../../../src/log/logger.ts';
import { IsoClock, nanosAsMillis, quote } from '../../../src/log/json.ts';
import { maskKeys } from '../../../src/credentials/mask.ts';

interface CtxFields {
  id: string; method: string | undefined; path: string; route: string | null; principal: string | null;
  key: string | null; credential: string | null; errorCode: string | null; client: string | undefined;
}

function ctxOf(f: CtxFields, start: bigint): RequestContext {
  return {
    id: f.id, start, path: f.path, errorCode: f.errorCode,
    gen: { config: { keys: { prefix: 'kg_' } } },
    req: { method: f.method, socket: f.client === undefined ? undefined : { remoteAddress: f.client } },
    match: f.route === null ? null : { route: { name: f.route } },
    principal: f.principal === null ? null : { id: f.principal },
    key: f.key === null ? null : { id: f.key },
    credential: f.credential === null ? null : { style: f.credential },
  } as unknown as RequestContext;
}

/**
 * What keygate wrote for a request before issue 12: the same logger options, a child logger
 * without redaction, and this object through pino. Kept here verbatim as the reference.
 */
function pinoLine(ctx: RequestContext, status: number, nowNs: bigint, timeMs: number): string {
  let out = '';
  const opts = { ...loggerOptions('info', { flush() {} }), timestamp: () => `,"time":"${new Date(timeMs).toISOString()}"` };
  const logger = pino(opts, { write: (s: string) => void (out += s) });
  logger.child({}, { redact: { paths: [] } }).info(
    {
      reqId: ctx.id,
      method: ctx.req.method,
      path: maskKeys(ctx.path, ctx.gen.config.keys.prefix),
      route: ctx.match?.route.name ?? null,
      status,
      durationMs: Number(nowNs - ctx.start) / 1e6,
      principalId: ctx.principal?.id ?? null,
      keyId: ctx.key?.id ?? null,
      credential: ctx.credential?.style ?? null,
      error: ctx.errorCode,
      client: ctx.req.socket?.remoteAddress ?? null,
    },
    'request',
  );
  return out;
}

function directLines(cases: { ctx: RequestContext; status: number; nowNs: bigint; timeMs: number }[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'keygate-log-')), 'log.jsonl');
  const logger = createLogger('info', file);
  let i = 0;
  const log = createAccessLog(logger, { hrtime: () => (cases[i] as { nowNs: bigint }).nowNs, now: () => (cases[i] as { timeMs: number }).timeMs });
  for (; i < cases.length; i++) log.request((cases[i] as { ctx: RequestContext }).ctx, (cases[i] as { status: number }).status);
  sinkOf(logger)?.close();
  return readFileSync(file, 'utf8');
}

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }), // lone surrogates, controls, astral characters
  fc.string({ minLength: 95, maxLength: 140 }), // both sides of pino's 100-character switch
  fc.constantFrom('/a"b', '/a\\b', '/tab\there', '/nl\n', '/é/ü', '/\u{1F600}', `/api/kg_${'A'.repeat(24)}/x`, ''),
);
const nullable = <T,>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const fieldsArb: fc.Arbitrary<CtxFields> = fc.record({
  id: text, method: fc.option(fc.constantFrom('GET', 'POST', 'M"X', 'DELETE'), { nil: undefined }), path: text,
  route: nullable(text), principal: nullable(text), key: nullable(text), credential: nullable(fc.constantFrom('bearer', 'apikey', 'query')),
  errorCode: nullable(fc.constantFrom('invalid_key', 'forbidden', 'upstream_timeout')), client: fc.option(fc.constantFrom('127.0.0.1', '::1', '::ffff:10.0.0.1'), { nil: undefined }),
});

describe('access log line (issue 12: built directly, byte-identical to pino)', () => {
  it('matches the pino-built line byte for byte, field by field, for any request', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({
          f: fieldsArb,
          status: fc.constantFrom(200, 401, 403, 404, 499, 502),
          start: fc.bigInt({ min: 0n, max: 2n ** 62n }),
          // durations from 0 ns to beyond the 1e15 ns fast-formatting limit
          ns: fc.oneof(fc.bigInt({ min: 0n, max: 10_000_000n }), fc.bigInt({ min: 0n, max: 2n * 10n ** 15n })),
          timeMs: fc.integer({ min: 0, max: 4102444800000 }),
        }), { minLength: 1, maxLength: 20 }),
        (rows) => {
          const cases = rows.map((r) => ({ ctx: ctxOf(r.f, r.start), status: r.status, nowNs: r.start + r.ns, timeMs: r.timeMs }));
          const expected = cases.map((c) => pinoLine(c.ctx, c.status, c.nowNs, c.timeMs)).join('');
          expect(directLines(cases)).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('pins one line exactly', () => {
    const ctx = ctxOf({ id: 'req-1', method: 'GET', path: '/api/applications/42/items', route: 'app-read', principal: 'p_1', key: 'k_1', credential: 'bearer', errorCode: null, client: '127.0.0.1' }, 1_000n);
    expect(directLines([{ ctx, status: 200, nowNs: 1_000n + 1_234_500n, timeMs: Date.UTC(2026, 11, 3, 6, 0, 0, 7) }])).toBe(
      '{"level":"info","time":"2026-12-03T06:00:00.007Z","service":"keygate","reqId":"req-1","method":"GET","path":"/api/applications/42/items",'
      + '"route":"app-read","status":200,"durationMs":1.2345,"principalId":"p_1","keyId":"k_1","credential":"bearer","error":null,"client":"127.0.0.1","msg":"request"}\n',
    );
  });

  it('formats nanoseconds as milliseconds exactly like String(ns / 1e6)', () => {
    for (let ns = 0; ns < 2_000_000; ns += 7) expect(nanosAsMillis(ns)).toBe(String(ns / 1e6));
    fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (ns) => nanosAsMillis(ns) === String(ns / 1e6)), { numRuns: 100_000 });
    for (const ns of [1, 10, 999_999, 1_000_000, 1e15 - 1, 1e15, 1e15 + 1, 2 ** 53 - 1]) expect(nanosAsMillis(ns)).toBe(String(ns / 1e6));
  });

  it('quotes strings exactly as pino does', () => {
    let out = '';
    const p = pino({ base: null, timestamp: false }, { write: (s: string) => void (out = s) });
    fc.assert(fc.property(text, (s) => {
      p.info({ s });
      return out === `{"level":30,"s":${quote(s)}}\n`;
    }), { numRuns: 5_000 });
  });

  it('formats wall-clock time like toISOString, across second boundaries', () => {
    const iso = new IsoClock();
    fc.assert(fc.property(fc.integer({ min: 0, max: 253402300799999 }), (ms) => iso.format(ms) === new Date(ms).toISOString()), { numRuns: 20_000 });
    const base = Date.UTC(2026, 0, 1);
    for (let ms = base - 2500; ms < base + 2500; ms += 3) expect(iso.format(ms)).toBe(new Date(ms).toISOString());
  });
});
