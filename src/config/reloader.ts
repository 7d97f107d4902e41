import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import type { GatewayConfig } from './types.ts';
import { loadConfigFile } from './load.ts';
import { formatProblems } from './format.ts';

export type ReloadReason = 'sighup' | 'file-change' | 'manual';

export interface ReloaderOptions {
  file: string;
  env?: NodeJS.ProcessEnv;
  logger: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Called with a validated config; the caller swaps it in. */
  onSwap(config: GatewayConfig): void | Promise<void>;
  /** Called after every attempt (metrics). */
  onResult?(result: 'success' | 'failure'): void;
  /** @default 150 */
  debounceMs?: number;
}

async function digest(file: string): Promise<string | null> {
  try {
    return createHash('sha256').update(await readFile(file)).digest('hex');
  } catch {
    return null;
  }
}

/**
 * Reload = load + validate, then swap; a bad file leaves the running config in place and the
 * log says why. Reloads are serialized (a request during one coalesces into one more run).
 * The watch is on the directory: editors and Kubernetes ConfigMaps replace files by rename or
 * symlink swap (`..data`), which a watch on the file itself would miss.
 */
export function createReloader(opts: ReloaderOptions) {
  const file = resolve(opts.file);
  let running: Promise<boolean> | null = null;
  let pending: ReloadReason | null = null;
  let lastDigest: string | null = null;
  let watcher: FSWatcher | null = null;
  let timer: NodeJS.Timeout | null = null;
  void digest(file).then((d) => { lastDigest ??= d; });

  async function once(reason: ReloadReason): Promise<boolean> {
    const d = await digest(file);
    if (reason === 'file-change' && d !== null && d === lastDigest) return true;
    const result = await loadConfigFile(file, opts.env);
    if (!result.ok) {
      opts.logger.error({ reason, file, problems: formatProblems(result.problems).split('\n') }, 'config reload rejected; keeping the running config');
      opts.onResult?.('failure');
      return false;
    }
    await opts.onSwap(result.config);
    lastDigest = d;
    opts.logger.info({ reason, file, routes: result.config.routes.length }, 'config reloaded');
    opts.onResult?.('success');
    return true;
  }

  function reload(reason: ReloadReason): Promise<boolean> {
    if (running !== null) {
      pending = reason;
      return running;
    }
    running = (async () => {
      let ok = await once(reason);
      while (pending !== null) {
        const next = pending;
        pending = null;
        ok = await once(next);
      }
      return ok;
    })().finally(() => { running = null; });
    return running;
  }

  return {
    reload,
    watch(): void {
      const name = basename(file);
      watcher = watch(dirname(file), (_event, changed) => {
        if (changed !== null && changed !== name && changed !== '..data') return;
        if (timer !== null) clearTimeout(timer);
        timer = setTimeout(() => void reload('file-change'), opts.debounceMs ?? 150);
        timer.unref();
      });
      watcher.unref();
    },
    close(): void {
      watcher?.close();
      if (timer !== null) clearTimeout(timer);
    },
  };
}
