import cluster, { type Worker } from 'node:cluster';
import type { ReloadReason } from '../config/reloader.ts';
import type { Logger } from '../log/logger.ts';
import { EXIT, type CommandResult } from '../cli/exit-codes.ts';
import { isToPrimary, WORKER_ADMIN_ENV, WORKER_SLOT_ENV, type ToWorker } from './messages.ts';
import { createPrimaryMetrics } from './aggregate.ts';
import { createCollector } from './collect.ts';
import { watchConfig } from './watch.ts';

export interface PrimaryOptions {
  file: string;
  logger: Logger;
  /** Resolved `server.workers` (≥ 2). */
  workers: number;
  /** As written (`auto` or a count), to say when a reload changes it. */
  configured: number | 'auto';
  drainTimeoutMs: number;
}

/** A worker that dies while serving is forked again after this long, doubling to the cap. */
const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A worker that served this long resets its slot's back-off. */
const HEALTHY_MS = 60_000;
/** Past the drain deadline, how long workers get to close stores and flush logs before SIGKILL. */
const EXIT_GRACE_MS = 5_000;
/** The canary's reload (read, validate, swap) answers within this, or counts as refused. */
const CANARY_MS = 60_000;

interface Slot {
  slot: number;
  worker: Worker | null;
  startedAt: number;
  backoffMs: number;
  ready: boolean;
  /** The reload generation the worker loaded the file at (see `reloads`). */
  loadedAt: number;
}

/**
 * The `server.workers` supervisor (issue 12). It serves no request itself: it forks one worker
 * per slot (slot 1 also serves the admin listener), shares the proxy and check ports with them
 * (node:cluster, round-robin), answers the admin worker's `/metrics` with every worker's sum
 * (plus its own `keygate_workers` and restart counts), coordinates reloads, and drains them all
 * on SIGTERM. It holds no key, cache or request state and never parses the config (`serve`
 * validated it, then re-executed into this lean process): a reload is loaded by one worker
 * first, the canary, and only when it runs is every other worker told — so a bad file is refused
 * once, by one worker, and the rest never see it.
 */
export function servePrimary(opts: PrimaryOptions): CommandResult {
  const { logger, file } = opts;
  // All the primary knows of the config (it never parses it; the canary reports these on reload).
  let setting = { workers: opts.configured, drainTimeoutMs: opts.drainTimeoutMs };
  const slots: Slot[] = Array.from({ length: opts.workers }, (_, i) => ({ slot: i + 1, worker: null, startedAt: 0, backoffMs: RESTART_FIRST_MS, ready: false, loadedAt: 0 }));
  const own = createPrimaryMetrics();
  /** Reloads relayed so far: a worker forked before the last one may have read the older file. */
  let reloads = 0;
  const serving = () => slots.flatMap((x) => (x.ready && x.worker?.isConnected() === true ? [{ slot: x.slot, worker: x.worker }] : []));
  const collector = createCollector({ serving, primary: own.registry, onMissed: (n) => own.missed.inc(n) });
  let started = false;
  /** Slot 1's admin port, for the listening line. */
  let adminPort = 0;
  let stopping = false;
  let exitCode: number = EXIT.ok;
  let finish: (code: CommandResult) => void = () => {};
  const done = new Promise<CommandResult>((r) => (finish = r));

  const live = () => slots.flatMap((s) => (s.worker === null ? [] : [s.worker]));

  function fork(s: Slot): void {
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(s.slot), [WORKER_ADMIN_ENV]: s.slot === 1 ? '1' : '0' });
    s.worker = worker;
    s.startedAt = Date.now();
    s.ready = false;
    s.loadedAt = reloads;
    worker.on('message', (m: unknown) => onMessage(s, worker, m));
    worker.on('exit', (code, signal) => onExit(s, worker, code, signal));
  }

  /** Workers serving now: a gauge here, and a line of the admin worker's /readyz. */
  function fleetChanged(): void {
    const count = slots.filter((x) => x.ready && x.worker !== null).length;
    own.workers.set(count);
    const admin = slots[0];
    if (admin?.ready === true && admin.worker?.isConnected() === true) admin.worker.send({ type: 'keygate:fleet', serving: count, total: slots.length } satisfies ToWorker);
  }

  function onMessage(s: Slot, worker: Worker, m: unknown): void {
    if (!isToPrimary(m)) return;
    if (m.type === 'keygate:ready') {
      s.ready = true;
      fleetChanged();
      if (s.slot === 1) adminPort = m.adminPort;
      // A reload relayed while it was starting found no listener: it reads the file again now.
      if (s.loadedAt < reloads) worker.send({ type: 'keygate:reload', reason: 'manual' } satisfies ToWorker);
      if (!started && slots.every((x) => x.ready)) {
        started = true;
        logger.info({ workers: slots.length, port: m.port, adminPort, checkPort: m.checkPort, grpcCheckPort: m.grpcCheckPort, pids: live().map((w) => w.process.pid) }, 'keygate listening');
      } else if (started) logger.info({ slot: s.slot, pid: worker.process.pid }, 'worker restarted');
      return;
    }
    if (m.type === 'keygate:metrics?') {
      collector.collect().then(
        (r) => worker.isConnected() && worker.send({ type: 'keygate:metrics', id: m.id, ...r } satisfies ToWorker),
        (e: unknown) => worker.isConnected() && worker.send({ type: 'keygate:metrics', id: m.id, contentType: '', body: '', error: e instanceof Error ? e.message : String(e) } satisfies ToWorker),
      );
      return;
    }
    if (m.type === 'keygate:reloaded') {
      canaryAnswer?.({ ok: m.ok, workers: m.workers, drainTimeoutMs: m.drainTimeoutMs });
      return;
    }
    if (m.type === 'keygate:collected') collector.answered(s.slot, m.id, m.metrics);
  }

  function onExit(s: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (s.worker === worker) s.worker = null;
    s.ready = false;
    // The canary died mid-reload: that reload did not happen.
    if (canarySlot === s) canaryAnswer?.(null);
    fleetChanged();
    if (stopping) {
      if (code !== 0 && started) {
        exitCode = EXIT.failure;
        logger.error({ slot: s.slot, code, signal }, 'worker did not drain cleanly');
      }
      if (live().length === 0) {
        logger.info({}, 'keygate stopped');
        logger.flush(() => finish(exitCode as CommandResult));
      }
      return;
    }
    if (!started) {
      // Not serving yet: a worker that cannot start (port taken, store misconfigured) will not
      // start on a retry either. Say so and stop, as a single process would.
      logger.fatal({ slot: s.slot, code, signal }, 'could not start: a worker exited during startup');
      exitCode = code === EXIT.invalidConfig ? EXIT.invalidConfig : EXIT.failure;
      stop('startup failure');
      return;
    }
    own.restarts.inc();
    const served = Date.now() - s.startedAt;
    if (served > HEALTHY_MS) s.backoffMs = RESTART_FIRST_MS;
    logger.error({ slot: s.slot, pid: worker.process.pid, code, signal, restartInMs: s.backoffMs }, 'worker exited; starting another');
    // Not unref'd: with no worker left the primary must stay alive to fork again.
    setTimeout(() => {
      if (!stopping) fork(s);
    }, s.backoffMs);
    s.backoffMs = Math.min(RESTART_MAX_MS, s.backoffMs * 2);
  }

  let reloading = false;
  let pendingReason: ReloadReason | null = null;
  let canaryAnswer: ((r: { ok: boolean; workers: number | 'auto'; drainTimeoutMs: number } | null) => void) | null = null;
  let canarySlot: Slot | null = null;

  /** One reload at a time; one asked for meanwhile runs once after it (the last write wins). */
  async function reload(reason: ReloadReason): Promise<void> {
    if (stopping) return;
    if (reloading) {
      if (pendingReason === null || pendingReason === 'file-change') pendingReason = reason;
      return;
    }
    reloading = true;
    try {
      let next: ReloadReason | null = reason;
      while (next !== null && !stopping) {
        pendingReason = null;
        await reloadOnce(next);
        next = pendingReason;
      }
    } finally {
      reloading = false;
    }
  }

  async function reloadOnce(reason: ReloadReason): Promise<void> {
    const canary = slots.find((x) => x.ready && x.worker?.isConnected() === true);
    if (canary === undefined) {
      // Nobody serving: each worker reads the file when it starts.
      reloads++;
      return;
    }
    const answer = new Promise<{ ok: boolean; workers: number | 'auto'; drainTimeoutMs: number } | null>((r) => (canaryAnswer = r));
    const timer = setTimeout(() => canaryAnswer?.(null), CANARY_MS);
    canary.loadedAt = reloads + 1;
    canarySlot = canary;
    canary.worker?.send({ type: 'keygate:reload', reason, report: true } satisfies ToWorker);
    const r = await answer;
    clearTimeout(timer);
    canaryAnswer = null;
    canarySlot = null;
    if (stopping) return;
    const others = slots.filter((x) => x !== canary && x.ready && x.worker?.isConnected() === true);
    if (r === null || !r.ok) {
      logger.error({ reason, canary: canary.slot }, 'config reload refused; every worker keeps the running config');
      for (const x of others) x.worker?.send({ type: 'keygate:reload-refused' } satisfies ToWorker);
      return;
    }
    reloads++;
    if (r.workers !== setting.workers) logger.warn({ workers: r.workers, running: slots.length }, 'server.workers changes take effect on restart');
    setting = { workers: r.workers, drainTimeoutMs: r.drainTimeoutMs };
    for (const x of others) {
      x.loadedAt = reloads;
      x.worker?.send({ type: 'keygate:reload', reason } satisfies ToWorker);
    }
    logger.info({ reason, workers: others.length + 1 }, 'config reload relayed to every worker');
  }

  const watcher = watchConfig(file, () => void reload('file-change'), (e) => logger.error({ file, err: e }, 'config watch failed; reload with SIGHUP'));

  function stop(why: string): void {
    if (stopping) return;
    stopping = true;
    watcher.close();
    canaryAnswer?.(null);
    logger.info({ signal: why, workers: live().length }, 'draining');
    if (live().length === 0) {
      logger.flush(() => finish(exitCode as CommandResult));
      return;
    }
    // A worker still starting has no message handler yet (and nothing in flight): SIGTERM.
    for (const sl of slots) {
      if (sl.worker === null) continue;
      if (sl.ready) sl.worker.send({ type: 'keygate:drain' } satisfies ToWorker);
      else sl.worker.process.kill('SIGTERM');
    }
    // A worker stuck past its own drain deadline is killed; the exit code says so.
    const timer = setTimeout(() => {
      for (const w of live()) {
        logger.error({ pid: w.process.pid }, 'worker still running after the drain deadline; killing it');
        w.process.kill('SIGKILL');
      }
    }, setting.drainTimeoutMs + EXIT_GRACE_MS);
    timer.unref();
  }

  process.on('SIGHUP', () => void reload('sighup'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  for (const s of slots) fork(s);
  void done.then((code) => process.exit(code));
  return EXIT.serving;
}
