import { Pool } from 'undici';

export interface LoadResult {
  requests: number;
  errors: number;
  /** Responses by status. */
  statuses: Map<number, number>;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
}

export interface LoadOptions {
  origin: string;
  /** Builds request i (so keys can rotate). */
  request: (i: number) => { path: string; method?: string; headers?: Record<string, string>; body?: string | Buffer };
  connections: number;
  durationMs: number;
  /** Hard cap on requests, so every run stops by itself. @default 2_000_000 */
  maxRequests?: number;
}

/**
 * A closed-loop load generator on undici: `connections` workers, each sending its next request
 * when the previous answer is read, for a fixed time and at most maxRequests. Loopback only.
 */
export async function load(opts: LoadOptions): Promise<LoadResult> {
  if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(opts.origin)) throw new Error(`refusing a non-loopback target: ${opts.origin}`);
  const pool = new Pool(opts.origin, { connections: opts.connections, pipelining: 1 });
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  let errors = 0;
  const max = opts.maxRequests ?? 2_000_000;
  const start = performance.now();
  const end = start + opts.durationMs;
  async function worker(): Promise<void> {
    while (performance.now() < end && next < max) {
      const r = opts.request(next++);
      const t0 = performance.now();
      try {
        const res = await pool.request({ path: r.path, method: (r.method ?? 'GET') as 'GET', headers: r.headers ?? {}, body: r.body ?? null });
        await res.body.dump();
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  }
  await Promise.all(Array.from({ length: opts.connections }, worker));
  const seconds = (performance.now() - start) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return { requests: latencies.length, errors, statuses, seconds, rps: latencies.length / seconds, p50ms: q(0.5), p99ms: q(0.99) };
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}
