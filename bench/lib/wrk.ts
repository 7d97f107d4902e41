import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './procs.ts';

const SCRIPT = fileURLToPath(new URL('../wrk/rotate-keys.lua', import.meta.url));

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  /** connect + read + write + timeout + status (>= 400) errors. */
  errors: number;
  statusErrors: number;
  /** wrk's latency percentiles (closed loop: they include queueing at the server). */
  p50ms: number;
  p99ms: number;
}

/**
 * One closed-loop wrk run (-t1: one load thread on core `core`), bounded by -d and a kill timer.
 * Loopback only: the origin is checked before anything is sent.
 */
export function wrk(opts: {
  origin: string; path: string; secretsFile: string; seconds: number; connections: number; core: number | null;
  /** Another request script (bench/wrk/check-shapes.lua) and what it reads from the environment. */
  script?: string; env?: Record<string, string>;
}): Promise<WrkResult> {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(opts.origin)) throw new Error(`refusing a non-loopback target: ${opts.origin}`);
  const args = ['-t1', `-c${opts.connections}`, `-d${opts.seconds}s`, '--timeout', '5s', '-s', opts.script ?? SCRIPT, opts.origin + opts.path];
  const argv = opts.core === null ? ['wrk', ...args] : ['taskset', '-c', String(opts.core), 'wrk', ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0] as string, argv.slice(1), {
      env: { ...process.env, BENCH_SECRETS: opts.secretsFile, BENCH_PATH: opts.path, ...opts.env },
      timeout: (opts.seconds + 30) * 1000, killSignal: 'SIGKILL',
    }, (err, stdout, stderr) => {
      const line = /^WRK_JSON (.+)$/m.exec(stdout)?.[1];
      if (err !== null || line === undefined) return reject(new Error(`wrk failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`));
      const j = JSON.parse(line) as Record<string, number>;
      const n = (k: string) => j[k] ?? 0;
      const seconds = n('duration_us') / 1e6;
      resolve({
        requests: n('requests'), seconds, rps: n('requests') / seconds,
        errors: n('connect') + n('read') + n('write') + n('timeout') + n('status'), statusErrors: n('status'),
        p50ms: n('p50_us') / 1000, p99ms: n('p99_us') / 1000,
      });
    });
    track(child);
  });
}
