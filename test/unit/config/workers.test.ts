/**
 * `server.workers` (issue 12): a count or `auto`, and more than one only with a store the
 * workers share — the embedded store would give each worker its own keys, so a revocation
 * through one would not reach the others.
 */
import { describe, expect, it } from 'vitest';
import { resolveWorkers } from '../../../src/workers/count.ts';
import { bad, brief, good, MINIMAL } from './support.ts';

const withServer = (workers: string, ...store: string[]) => ['server:', `  workers: ${workers}`, ...MINIMAL, ...store].join('\n');
const REDIS = ['store:', '  redis: redis://127.0.0.1:6379'];

describe('server.workers', () => {
  it('defaults to 1; takes a count or auto with a Redis store', () => {
    expect(good(MINIMAL.join('\n')).server.workers).toBe(1);
    expect(good(withServer('4', ...REDIS)).server.workers).toBe(4);
    expect(good(withServer('auto', ...REDIS)).server.workers).toBe('auto');
    expect(good(withServer('1')).server.workers).toBe(1);
    expect(good(withServer('3', 'store:', '  cluster: [{ host: c1, port: 7000 }]')).server.workers).toBe(3);
  });

  it('refuses more than one worker (or auto) on the embedded store, at the line, saying why', () => {
    for (const w of ['2', 'auto']) {
      const [p, ...rest] = brief(bad(withServer(w)));
      expect(rest).toEqual([]);
      expect(p).toMatch(new RegExp(`^2:12 /server/workers: workers: ${w} needs a Redis store \\(store.redis, store.sentinel or store.cluster\\)`));
      expect(p).toContain('would not see a revocation');
    }
  });

  it('says what a wrong value should be', () => {
    expect(brief(bad(withServer('0', ...REDIS)))).toEqual(['2:12 /server/workers: must be at least 1 (got 0)']);
    expect(brief(bad(withServer('257', ...REDIS)))).toEqual(['2:12 /server/workers: must be at most 256 (got 257)']);
    expect(brief(bad(withServer('all', ...REDIS)))).toEqual(['2:12 /server/workers: must be one of "auto" (got "all")']);
    expect(brief(bad(withServer('1.5', ...REDIS)))).toEqual(['2:12 /server/workers: must be a string or a whole number (got 1.5)']);
  });

  it('auto is the cores the process may use, at least one', () => {
    expect(resolveWorkers('auto', () => 6)).toBe(6);
    expect(resolveWorkers('auto', () => 0)).toBe(1);
    expect(resolveWorkers(3, () => 6)).toBe(3);
  });
});
