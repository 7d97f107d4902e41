import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpuMicros, peakRssMiB, rssMiB } from './proc.ts';

/**
 * Processes started by the proxy bench. Each gets its own process group (detached), so that
 * stopping it also stops what it forked (nginx's worker), and its group id is listed in
 * PIDS_FILE so bench/run.sh's EXIT trap can kill it by id even if this process dies first.
 */
export let PIDS_FILE = '';
export function setPidsFile(file: string): void {
  PIDS_FILE = file;
  writeFileSync(file, '');
}

const live = new Set<ChildProcess>();

export interface Started {
  child: ChildProcess;
  pid: number;
  stderr: () => string;
}

/** Starts argv pinned to `core` via taskset (taskset execs, so the pid is the program's own). */
export function startPinned(core: number | null, argv: string[], opts: { cwd?: string; stdout?: 'ignore' | 'pipe' } = {}): Started {
  const cmd = core === null ? argv : ['taskset', '-c', String(core), ...argv];
  const child = spawn(cmd[0] as string, cmd.slice(1), { cwd: opts.cwd, detached: true, stdio: ['ignore', opts.stdout ?? 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => { err = (err + c.toString()).slice(-4000); });
  if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')}`);
  live.add(child);
  child.on('exit', () => live.delete(child));
  if (PIDS_FILE !== '') appendFileSync(PIDS_FILE, `${child.pid}\n`);
  return { child, pid: child.pid, stderr: () => err };
}

/** SIGTERM to the whole group, SIGKILL after `graceMs`. */
export async function stopGroup(s: Started, graceMs = 3000): Promise<void> {
  const kill = (sig: NodeJS.Signals) => { try { process.kill(-s.pid, sig); } catch { /* already gone */ } };
  if (s.child.exitCode === null && s.child.signalCode === null) {
    const exited = new Promise((r) => s.child.once('exit', r));
    kill('SIGTERM');
    const t = setTimeout(() => kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
  }
  kill('SIGKILL'); // stragglers in the group (an orphaned worker)
}

/** Load generators (wrk): plain children, killed by pid on exit. */
const helpers = new Set<ChildProcess>();
export function track(child: ChildProcess): void {
  helpers.add(child);
  child.on('exit', () => helpers.delete(child));
}

/** Last resort on exit: every group and helper we started, by id. */
export function killAll(): void {
  for (const c of live) if (c.pid !== undefined) { try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ } }
  for (const c of helpers) c.kill('SIGKILL');
}

/** Resolves once 127.0.0.1:port accepts a connection; throws if the process exits or time runs out. */
export async function waitForPort(port: number, s: Started, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (s.child.exitCode !== null) throw new Error(`exited with ${s.child.exitCode}: ${s.stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1', () => { sock.destroy(); resolve(true); });
      sock.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} not open after ${timeoutMs} ms: ${s.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** pid and all its descendants (nginx master + worker), from /proc/<pid>/task/<tid>/children. */
export function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as number;
    let tids: string[] = [];
    try { tids = readdirSync(`/proc/${p}/task`); } catch { continue; }
    for (const t of tids) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c !== '') out.push(Number(c));
      } catch { /* thread gone */ }
    }
  }
  return out;
}

/** utime+stime of the whole tree, µs (all threads included: /proc/<pid>/stat is per process). */
export const treeCpuMicros = (pid: number): number => tree(pid).reduce((sum, p) => sum + safe(() => cpuMicros(p)), 0);
/** Sum of VmHWM over the tree, MiB (nginx: master + worker). */
export const treePeakRssMiB = (pid: number): number => tree(pid).reduce((sum, p) => sum + safe(() => peakRssMiB(p)), 0);

/** Sum of VmRSS over the tree, MiB. */
export const treeRssMiB = (pid: number): number => tree(pid).reduce((sum, p) => sum + safe(() => rssMiB(p)), 0);

function safe(f: () => number): number {
  try { return f(); } catch { return 0; }
}

/** µs per clock tick (/proc/stat and /proc/<pid>/stat count in USER_HZ ticks). */
export const TICK_US = 1_000_000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/**
 * Jiffies of one core from /proc/stat: busy (anything but idle/iowait), of which irq (hard + soft
 * interrupts: loopback packet processing, charged to no process), and total.
 */
export function coreTicks(core: number): { busy: number; irq: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${core} `)) ?? '';
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), irq: (v[5] ?? 0) + (v[6] ?? 0), total };
}
