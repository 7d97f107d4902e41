/**
 * Idle resident memory of `keygate serve`, compiled (dist/, what the image and the npm package
 * run) against the TypeScript sources run directly (development), for docs/operations.md.
 * Linux only (reads /proc/<pid>/status). Builds dist/ first.
 *
 *   node scripts/measure-rss.ts [runs=3] [idleSeconds=10]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.argv[2] ?? 3);
const idleMs = Number(process.argv[3] ?? 10) * 1000;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function status(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? Number.NaN) / 1024;
}

async function measure(entry: string): Promise<{ rss: number; startMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-rss-'));
  const file = join(dir, 'keygate.yaml');
  // The embedded default's routes and principals, on free loopback ports.
  const text = readFileSync(join(ROOT, 'config/keygate.yaml'), 'utf8')
    .replace(/^server:.*$/m, `server: { port: ${await freePort()}, host: 127.0.0.1 }`)
    .replace(/^admin: .*$/m, `admin: { port: ${await freePort()}, host: 127.0.0.1 }`);
  writeFileSync(file, text);
  const started = Date.now();
  const child = spawn(process.execPath, [entry, 'serve', '--config', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_ENV: 'production' } });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('keygate listening')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  const startMs = Date.now() - started;
  await new Promise((r) => setTimeout(r, idleMs));
  const rss = status(child.pid as number, 'VmRSS');
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { rss, startMs };
}

execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
for (const [label, entry] of [['compiled (dist/cli/bin.js)', 'dist/cli/bin.js'], ['sources (src/cli/main.ts)', 'src/cli/main.ts']] as const) {
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await measure(entry));
  console.log(`${label}: idle RSS ${median(results.map((r) => r.rss)).toFixed(1)} MB (runs: ${results.map((r) => r.rss.toFixed(1)).join(', ')}), start to listening ${median(results.map((r) => r.startMs))} ms; Node ${process.version}`);
}
