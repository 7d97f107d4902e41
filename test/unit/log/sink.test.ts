import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WRITER = fileURLToPath(new URL('./log-writer.ts', import.meta.url));

/** Runs the writer; the reader stalls first so the pipe fills and the sink has to wait. */
function run(count: number, mode: string, end: string, stallMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, String(count), mode, end], { stdio: ['ignore', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    child.stdout.pause();
    setTimeout(() => {
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.stdout.resume();
    }, stallMs);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

function check(out: string, count: number): void {
  expect(out.endsWith('\n')).toBe(true);
  const lines = out.slice(0, -1).split('\n');
  // Every line is one whole JSON object: nothing interleaved, nothing cut.
  const parsed = lines.map((l) => JSON.parse(l) as { msg: string; path?: string; seq?: number });
  const access = parsed.filter((l) => l.msg === 'request').map((l) => l.path);
  expect(access).toEqual(Array.from({ length: count }, (_, i) => `/seq/${i}`));
  const pinoSeq = parsed.filter((l) => l.msg === 'pino line').map((l) => l.seq);
  expect(pinoSeq).toEqual(Array.from({ length: Math.ceil(count / 1000) }, (_, i) => i * 1000));
  // And in the order they were logged: a pino line sits right after its access line.
  for (let i = 0; i < parsed.length; i++) {
    const p = parsed[i] as { msg: string; seq?: number };
    if (p.msg === 'pino line') expect((parsed[i - 1] as { path: string }).path).toBe(`/seq/${p.seq}`);
  }
}

describe('log sink (issue 12): batched, never loses or interleaves lines', () => {
  for (const [mode, end] of [['nonblocking', 'exit'], ['blocking', 'exit'], ['nonblocking', 'drain'], ['nonblocking', 'throw']] as const) {
    it(`${mode} stdout, process ends by ${end}, reader stalls 300 ms`, async () => {
      const count = 30_000;
      const { code, out } = await run(count, mode, end, 300);
      expect(code).toBe(end === 'throw' ? 1 : 0);
      check(`${out.split('\n').filter((l) => l.startsWith('{')).join('\n')}\n`, count);
    }, 90_000);
  }
});
