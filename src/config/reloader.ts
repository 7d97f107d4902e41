import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import type { ConfigProblem, GatewayConfig } from './types.ts';
import { loadConfigText, unreadable, type LoadResult } from './load.ts';
import { formatProblems } from './format.ts';

export type ReloadReason = 'sighup' | 'file-change' | 'manual';

/** The part of a pino logger the reloader uses. */
export interface ReloadLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ReloaderOptions {
  /** The config file; relative paths are resolved once, at creation. */
  file: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  logger: ReloadLogger;
  /** Called with a validated config; the caller swaps it in. A throw counts as a failed reload. */
  onSwap(config: GatewayConfig, reason: ReloadReason): void | Promise<void>;
  /** Called after every attempt that loaded the file (metrics); not for skipped, unchanged files. */
  onResult?(result: 'success' | 'failure'): void;
  /** Quiet time after the last file event before reloading (an editor's save is several events). @default 150 */
  debounceMs?: number;
}

export interface Reloader {
  /** Load, validate and swap. Resolves true when the new config is running (or the file is unchanged), false when the old one was kept. Never rejects. */
  reload(reason: ReloadReason): Promise<boolean>;
  /** Reload whenever the file changes. Does not keep the process alive. */
  watch(): void;
  /** Stop watching; a reload already running finishes. */
  close(): void;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function readDigest(file: string): string | null {
  try {
    return sha256(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Reload = load + validate, then swap; a bad file leaves the running config in place and the log
 * says why. Reloads are serialized: one requested while another runs coalesces into a single
 * further run, so the last write always wins and two loads never race to `onSwap`.
 */
export function createReloader(opts: ReloaderOptions): Reloader {
  const file = resolve(opts.file);
  const env = opts.env ?? process.env;
  // What the caller loaded at startup, read now (synchronously) so an event arriving before any
  // reload can already be recognised as "no change".
  let lastDigest = readDigest(file);
  let running: Promise<boolean> | null = null;
  let pending: ReloadReason | null = null;
  let watcher: FSWatcher | null = null;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  async function attempt(reason: ReloadReason): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      lastDigest = null;
      return rejected(reason, [unreadable(file, e)]);
    }
    const digest = sha256(text);
    // Editors and ConfigMap swaps fire events without changing the content, and re-reporting a
    // bad file that nobody touched again would only add noise.
    if (reason === 'file-change' && digest === lastDigest) return true;
    lastDigest = digest;
    let result: LoadResult;
    try {
      result = loadConfigText(text, file, env);
      if (!result.ok) return rejected(reason, result.problems);
      await opts.onSwap(result.config, reason);
    } catch (e) {
      opts.logger.error({ reason, file, err: e }, 'config reload failed; keeping the running config');
      opts.onResult?.('failure');
      return false;
    }
    opts.logger.info({ reason, file, routes: result.config.routes.length }, 'config reloaded');
    opts.onResult?.('success');
    return true;
  }

  function rejected(reason: ReloadReason, problems: ConfigProblem[]): false {
    opts.logger.error({ reason, file, problems: formatProblems(problems).split('\n') }, 'config reload rejected; keeping the running config');
    opts.onResult?.('failure');
    return false;
  }

  function reload(reason: ReloadReason): Promise<boolean> {
    if (running !== null) {
      // Keep the strongest reason: an explicit request must not be skipped as "unchanged".
      if (pending === null || pending === 'file-change') pending = reason;
      return running;
    }
    running = (async () => {
      let ok = await attempt(reason);
      while (pending !== null) {
        const next = pending;
        pending = null;
        ok = await attempt(next);
      }
      return ok;
    })().finally(() => {
      running = null;
    });
    return running;
  }

  function onEvent(name: string | null): void {
    // A ConfigMap mount swaps the `..data` symlink; other names are editors' temp files.
    if (closed || (name !== null && name !== basename(file) && name !== '..data')) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void reload('file-change');
    }, opts.debounceMs ?? 150);
    timer.unref();
  }

  return {
    reload,
    watch(): void {
      if (watcher !== null || closed) return;
      // The directory, not the file: editors save by writing a new file and renaming it over the
      // old one, and a watch on the old inode would go quiet after the first save.
      watcher = watch(dirname(file), { persistent: false }, (_event, name) => onEvent(name));
      watcher.on('error', (e) => opts.logger.error({ file, err: e }, 'config watch failed; reload with SIGHUP'));
      watcher.unref();
    },
    close(): void {
      closed = true;
      watcher?.close();
      watcher = null;
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
