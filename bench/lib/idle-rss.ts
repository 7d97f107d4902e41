import { join } from 'node:path';
import { freePort } from '../../test/helpers/ports.ts';
import { startPinned, stopGroup, treePeakRssMiB, treeRssMiB, waitForPort } from './procs.ts';
import { KEYGATE_BIN } from './keygate-entry.ts';
import { ROOT } from './systems.ts';

export interface IdleRss {
  /** VmRSS once it settled, MiB. */
  rss: number;
  /** VmHWM at that moment: the start-up peak, MiB. */
  peak: number;
}

/**
 * Idle RSS of keygate: a fresh process (`keygate serve`, as shipped), started and left alone
 * until its RSS settles. `configFile` writes the config for the given ports (null: the embedded
 * default, whose ports come from KEYGATE_PORT / KEYGATE_ADMIN_PORT).
 */
export async function idleRss(core: number | null, configFile: ((port: number, adminPort: number) => string) | null): Promise<IdleRss> {
  const port = await freePort();
  const adminPort = await freePort();
  const file = configFile === null ? join(ROOT, 'config/keygate.yaml') : configFile(port, adminPort);
  process.env['KEYGATE_PORT'] = String(port);
  process.env['KEYGATE_ADMIN_PORT'] = String(adminPort);
  const s = startPinned(core, [process.execPath, KEYGATE_BIN, 'serve', '--config', file], { cwd: ROOT, stdout: 'ignore' });
  try {
    await waitForPort(adminPort, s, 60_000);
    // A GC cycle or two after start-up: sample until two readings 1 s apart agree within 1 MiB.
    let last = treeRssMiB(s.pid);
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = treeRssMiB(s.pid);
      if (Math.abs(now - last) < 1) return { rss: now, peak: treePeakRssMiB(s.pid) };
      last = now;
    }
    return { rss: last, peak: treePeakRssMiB(s.pid) };
  } finally {
    await stopGroup(s);
  }
}
