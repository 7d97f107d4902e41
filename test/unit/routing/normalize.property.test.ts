import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeTarget } from '../../../src/routing/normalize.ts';
import { compileRoutes } from '../../../src/routing/match.ts';
import { GatewayError } from '../../../src/errors.ts';
import type { RouteConfig, UpstreamConfig } from '../../../src/config/types.ts';
import { lenientPath, lenientRoutePath } from '../../helpers/lenient-path.ts';

/**
 * Properties of path normalization over generated targets (issue 10): it never throws anything
 * but bad_path, it is idempotent, and whatever it forwards reads the same — and so takes the
 * same route decision — for an upstream that decodes again, folds `\`, applies NFKC and
 * best-fit mappings, cuts `;params` and resolves dot-segments (test/helpers/lenient-path.ts).
 */

const upstream: UpstreamConfig = {
  name: 'app', url: new URL('http://app.internal:3000'), timeoutMs: 30_000, connectTimeoutMs: 5_000, bodyTimeoutMs: 30_000, connections: 1, preserveHost: false, keepAliveTimeoutMs: 1_000,
};
function route(name: string, path: string, over: Partial<RouteConfig> = {}): RouteConfig {
  return { name, path, methods: [], hosts: [], upstream: 'app', actions: [], public: false, stripPrefix: '', credentials: null, accepts: new Set(['bearer']), resource: null, methodOverride: false, line: 1, ...over };
}
const router = compileRoutes(
  [
    route('health', '/health', { public: true }),
    route('app', '/api/applications/:appId/*'),
    route('admin', '/admin/*'),
    route('public', '/*', { public: true }),
  ],
  new Map([['app', upstream]]),
  { caseSensitive: false },
);

function decision(path: string): string {
  const m = router.match('GET', 'h', path);
  return m === null ? 'none' : `${m.route.name} ${JSON.stringify(m.params)}`;
}

const escape = fc.integer({ min: 0, max: 255 }).chain((b) =>
  fc.constantFrom(b.toString(16).padStart(2, '0'), b.toString(16).toUpperCase().padStart(2, '0')).map((h) => `%${h}`),
);

/** Pieces that spell, hide or fake path syntax; glued together they make hostile targets. */
const piece = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('admin', 'api', 'applications', '1', '2', 'health', 'x', 'A', 'é') },
  { weight: 4, arbitrary: fc.constantFrom('/', '/', '/', '//', '.', '..', '/./', '/../') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '%2e', '%2E', '%2e%2e', '%252e', '%252E%252E', '%25252e', '%2f', '%252f', '%5c', '%255c', '\\', ';', '%3b', '%253b', ';x=..',
      '%25', '%2561', '%61', '%25u002e', '%u002e', '%c0%ae', '%c0%af', '%e0%80%ae', '%c1%9c', '%80', '%c3', '%c3%a9', '%e6%97%a5',
      '%ef%bc%8e', '%ef%bc%8f', '%ef%bc%bc', '%e2%80%a4', '%e2%80%a5', '%e2%88%95', '%e2%81%84', '%c2%a5', '%e3%80%82', '%ef%bd%81',
      '%65%cc%81', '%ed%a0%80', '%00', '%0a', '?', '?a=%2F&b=..', '#', ' ', '~', '%7e',
    ),
  },
  { weight: 2, arbitrary: escape },
  { weight: 1, arbitrary: fc.string({ maxLength: 3 }) },
);
const target = fc.array(piece, { maxLength: 14 }).map((ps) => '/' + ps.join(''));

type Outcome = { ok: true; path: string; query: string } | { ok: false; code: string };

function normalize(raw: string): Outcome {
  try {
    return { ok: true, ...normalizeTarget(raw, { semicolons: 'reject' }) };
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    return { ok: false, code: err.code };
  }
}

const runs = { numRuns: 3000 };

describe('normalizeTarget properties', () => {
  it('never throws anything but bad_path, on hostile and on arbitrary input', () => {
    const anyInput = fc.oneof(target, fc.string(), fc.string({ unit: 'binary' }), fc.string().map((s) => `http://h/${s}`));
    fc.assert(
      fc.property(anyInput, fc.constantFrom('reject' as const, 'allow' as const), (raw, semicolons) => {
        try {
          normalizeTarget(raw, { semicolons });
        } catch (err) {
          expect(err).toBeInstanceOf(GatewayError);
          expect((err as GatewayError).code).toBe('bad_path');
        }
      }),
      runs,
    );
  });

  it('is idempotent: what it forwards normalizes to itself', () => {
    fc.assert(
      fc.property(target, fc.constantFrom('reject' as const, 'allow' as const), (raw, semicolons) => {
        let once;
        try {
          once = normalizeTarget(raw, { semicolons });
        } catch {
          return;
        }
        expect(normalizeTarget(once.path + once.query, { semicolons })).toEqual(once);
      }),
      runs,
    );
  });

  it('forwards exactly what a lenient upstream reads, so both take the same route decision', () => {
    let accepted = 0;
    fc.assert(
      fc.property(target, (raw) => {
        const o = normalize(raw);
        if (!o.ok) return;
        accepted++;
        expect(decision(lenientRoutePath(o.path + o.query))).toBe(decision(o.path));
        // Stronger: the upstream reads exactly the text keygate authorized.
        expect(lenientPath(o.path + o.query)).toBe(decodeURIComponent(o.path));
      }),
      runs,
    );
    // The generator must not be so hostile that the property is only ever vacuously true.
    expect(accepted).toBeGreaterThan(runs.numRuns / 10);
  });

  it('refuses every generated target whose lenient reading lands on a protected route keygate would not have picked', () => {
    // The same property seen from the attack side: among raw targets that a lenient upstream
    // resolves to /admin, none is accepted onto another route.
    let attacks = 0;
    fc.assert(
      fc.property(target, (raw) => {
        const lenient = decision(lenientRoutePath(raw));
        const o = normalize(raw);
        if (!lenient.startsWith('admin')) return;
        attacks++;
        if (o.ok) expect(decision(o.path)).toBe(lenient);
      }),
      runs,
    );
    expect(attacks).toBeGreaterThan(0);
  });
});
