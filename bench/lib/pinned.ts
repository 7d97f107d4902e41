import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Pins this process (the load generator and in-process upstreams) to a core. */
export function pinSelf(core: number): void {
  try {
    execFileSync('taskset', ['-cp', String(core), String(process.pid)], { stdio: 'ignore' });
  } catch {
    console.warn('taskset not available: running unpinned (figures are noisier)');
  }
}

/**
 * `keygate serve --config FILE` pinned to `core`, stdout to /dev/null (logging stays on at info,
 * as in production: the cost of the access log is part of what is measured). Resolves when its
 * admin /healthz answers.
 */
export async function startPinnedGateway(configFile: string, core: number, adminOrigin: string): Promise<ChildProcess> {
  const child = spawn('taskset', ['-c', String(core), process.execPath, 'src/cli/main.ts', 'serve', '--config', configFile], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`keygate exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${adminOrigin}/healthz`);
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error('keygate did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return child;
}

/** taskset makes the gateway a child of taskset's exec: same pid, so /proc figures are the node process's. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await once(child, 'exit');
  clearTimeout(t);
}
