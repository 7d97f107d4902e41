/**
 * A `shared` sink (server.workers > 1) cuts each write(2) at a line end within PIPE_BUF, so a
 * write is atomic on a pipe that other workers write to (test/integration/workers.test.ts shows
 * the torn lines without it).
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogSink, PIPE_BUF, lineCut } from '../../../src/log/sink.ts';

const buf = (...lines: string[]) => Buffer.from(lines.map((l) => `${l}\n`).join(''));

describe('lineCut', () => {
  it('takes everything that fits', () => {
    expect(lineCut(buf('a', 'b'), 0, 16)).toBe(4);
  });
  it('cuts after the last whole line within the cap', () => {
    const b = buf('x'.repeat(5), 'y'.repeat(5), 'z'.repeat(5)); // lines of 6 bytes
    expect(lineCut(b, 0, 13)).toBe(12);
    expect(lineCut(b, 0, 12)).toBe(12);
    expect(lineCut(b, 0, 11)).toBe(6);
    expect(lineCut(b, 6, 7)).toBe(12);
  });
  it('a line longer than the cap goes alone, whole', () => {
    const b = buf('x'.repeat(20), 'y');
    expect(lineCut(b, 0, 8)).toBe(21);
    expect(lineCut(b, 21, 8)).toBe(23);
  });
  it('a remainder without a line end goes out whole', () => {
    expect(lineCut(Buffer.from('a'.repeat(50)), 0, 8)).toBe(50);
  });
});

describe('shared LogSink', () => {
  it('to a regular file (no cut: Linux serializes writes there) writes every line once, in order, whole', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keygate-sink-')), 'out.log');
    const sink = new LogSink(file, { shared: true });
    const want: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const line = JSON.stringify({ i, pad: 'p'.repeat(i % 97 === 0 ? PIPE_BUF + 500 : (i * 37) % 900) });
      want.push(line);
      sink.write(`${line}\n`);
    }
    sink.close();
    expect(readFileSync(file, 'utf8')).toBe(want.map((l) => `${l}\n`).join(''));
  });
});

const WRITER = fileURLToPath(new URL('./log-writer.ts', import.meta.url));

/** Two writer processes on one stdout pipe whose reader stalls on and off, as a log collector may. */
function twoWriters(count: number, shared: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const one = `"${process.execPath}" "${WRITER}" ${count} nonblocking exit ${shared ? 'shared' : 'x'}`;
    const child = spawn('bash', ['-c', `${one} & ${one} & wait`], { stdio: ['ignore', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    let ticks = 0;
    const toggle = setInterval(() => (++ticks % 4 === 0 ? child.stdout.resume() : child.stdout.pause()), 50);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', () => {
      clearInterval(toggle);
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

describe('two processes, one pipe', () => {
  it('shared sinks: every line of both writers arrives whole', async () => {
    const out = await twoWriters(40_000, true);
    const lines = out.split('\n').filter((l) => l !== '');
    const parsed = lines.map((l) => JSON.parse(l) as { msg: string });
    expect(parsed.filter((l) => l.msg === 'request')).toHaveLength(80_000);
  }, 90_000);
});
