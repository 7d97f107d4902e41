/**
 * Issue 12, "whole log lines never interleaved" with `server.workers` > 1: what it costs to keep
 * several processes' lines whole on one stdout pipe. Three ways, same ~330-byte access lines:
 *   64k     one process today: 64 KiB batches, one write(2) each (not safe with several writers)
 *   shared  the same batches cut into write(2)s of ≤ PIPE_BUF at line ends (log/sink.ts `shared`)
 *   funnel  each 64 KiB batch sent over the cluster IPC channel to a parent that writes it
 * CPU of every process involved (the funnel's receiving process included), per line.
 *
 *   node bench/micro/log-shared.ts   (re-runs itself with stdout piped into `cat >/dev/null`)
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LogSink } from '../../src/log/sink.ts';
import { cpuMicros } from '../lib/proc.ts';

const SELF = fileURLToPath(import.meta.url);

if (process.argv[2] === 'receiver') {
  // The funnel's primary: writes what it is sent, acks each batch.
  process.on('message', (m: { b?: string; done?: number }) => {
    if (m.b !== undefined) writeSync(1, m.b);
    if (m.done !== undefined) process.send?.({ done: m.done });
  });
} else if (process.env['LOG_SHARED_PIPED'] !== '1') {
  // stdout must be a pipe with a reader, as a container runtime's log collector is.
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${SELF}" | cat >/dev/null`], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, LOG_SHARED_PIPED: '1' } });
  process.exit(r.status ?? 1);
} else {
  await main();
}

async function main(): Promise<void> {
  const N = Number(process.env['BENCH_LINES'] ?? 300_000);
  const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 8);
  const line = (i: number) =>
    `{"level":"info","time":"2026-12-04T18:00:00.000Z","service":"keygate","worker":1,"reqId":"6f1c2a9e-4b7d-4e2a-9c1f-3d5e7a9b${String(i % 10000).padStart(4, '0')}","method":"GET","path":"/api/applications/42/items","route":"app-read","status":200,"durationMs":0.412,"principalId":"p_8c1d2e","keyId":"k_93ab4f","credential":"bearer","error":null,"client":"127.0.0.1","upstreamRetry":null,"msg":"request"}\n`;

  const receiver: ChildProcess = fork(SELF, ['receiver'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let acked = (_n: number) => {};
  receiver.on('message', (m: { done: number }) => acked(m.done));

  const sinkRun = (shared: boolean) => () => {
    const sink = new LogSink(1, { shared });
    for (let i = 0; i < N; i++) sink.write(line(i));
    sink.close();
    return Promise.resolve();
  };
  async function funnel(): Promise<void> {
    let batch = '';
    for (let i = 0; i < N; i++) {
      batch += line(i);
      if (batch.length >= 64 * 1024) {
        receiver.send({ b: batch });
        batch = '';
      }
    }
    if (batch !== '') receiver.send({ b: batch });
    const done = new Promise<void>((r) => (acked = () => r()));
    receiver.send({ done: N });
    await done;
  }
  const variants: [string, () => Promise<void>][] = [['64k', sinkRun(false)], ['shared', sinkRun(true)], ['funnel', funnel]];
  const per: Record<string, number[]> = Object.fromEntries(variants.map(([n]) => [n, []]));
  for (const [, run] of variants) await run(); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, run] of r % 2 === 0 ? variants : [...variants].reverse()) {
      const self0 = process.cpuUsage();
      const recv0 = cpuMicros(receiver.pid as number);
      await run();
      const self = process.cpuUsage(self0);
      const recv = cpuMicros(receiver.pid as number) - recv0;
      (per[name] as number[]).push(((self.user + self.system + recv) * 1000) / N);
    }
  }
  receiver.kill();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  process.stderr.write(`log lines to a pipe (${ROUNDS} interleaved rounds of ${N} lines, ${line(0).length} bytes each; CPU ns per line, all processes; median [min–max])\n`);
  for (const [name] of variants) {
    const xs = per[name] as number[];
    process.stderr.write(`  ${name.padEnd(8)} ${median(xs).toFixed(0).padStart(6)}  [${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}]\n`);
  }
}
