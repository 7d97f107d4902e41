import cluster from 'node:cluster';
import { loadConfigFile } from '../config/load.ts';
import { formatProblems } from '../config/format.ts';
import { createReloader } from '../config/reloader.ts';
import { createLogger } from '../log/logger.ts';
import { startGateway } from '../server.ts';
import { EXIT, type CommandResult } from '../cli/exit-codes.ts';
import { markAggregators } from './aggregate.ts';
import { compactHeap } from '../memory/compact-heap.ts';
import { startBufferCollector, type BufferCollector } from '../memory/buffer-collector.ts';
import { isToWorker, WORKER_ADMIN_ENV, WORKER_SLOT_ENV, type ToPrimary } from './messages.ts';

const send = (m: ToPrimary): void => {
  process.send?.(m);
};

/**
 * One `server.workers` worker: the same gateway as a single process (startGateway), on the
 * proxy and check listeners the primary shares. The primary decides when to reload and when
 * to drain; this process only does it. Every worker is a replica of the Redis store, exactly
 * like another pod: the cache, pub/sub invalidation and limiter leases need nothing new.
 */
export async function serveWorker(file: string): Promise<CommandResult> {
  const slot = Number(process.env[WORKER_SLOT_ENV] ?? '0');
  const admin = process.env[WORKER_ADMIN_ENV] === '1';
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) {
    process.stderr.write(`${formatProblems(loaded.problems)}\nkeygate: worker ${slot} not starting: ${loaded.problems.length} problem(s) in ${file}\n`);
    // Exit, not return: the IPC channel to the primary would keep this process alive.
    process.exit(EXIT.invalidConfig);
  }
  // `worker` on every line (the access log's too) says which process answered.
  const logger = createLogger(loaded.config.log.level, 1, { shared: true, bindings: { worker: slot } });

  let metricsSeq = 0;
  const pendingMetrics = new Map<number, { resolve: (m: { contentType: string; body: string }) => void; reject: (e: Error) => void }>();
  // The primary answers within its own collection deadline (3 s); past twice that it is gone.
  const askPrimary = () => new Promise<{ contentType: string; body: string }>((resolve, reject) => {
    const id = ++metricsSeq;
    const timer = setTimeout(() => {
      pendingMetrics.delete(id);
      reject(new Error('the primary did not answer for /metrics'));
    }, 6_000);
    timer.unref();
    pendingMetrics.set(id, { resolve: (m) => { clearTimeout(timer); resolve(m); }, reject: (e) => { clearTimeout(timer); reject(e); } });
    if (process.connected) send({ type: 'keygate:metrics?', id });
  });

  // Slot 1's /readyz reports how many workers serve. Not a reason to be unready: the pod still
  // serves on the others while one is replaced.
  let fleet = { serving: 0, total: 0 };
  const readiness = () => ({ workers: `${fleet.serving} of ${fleet.total} serving` });

  let running: Awaited<ReturnType<typeof startGateway>>;
  try {
    running = await startGateway({ config: loaded.config, logger, worker: { slot, admin }, ...(admin ? { metricsText: askPrimary, readiness } : {}) });
  } catch (e) {
    logger.fatal({ err: e }, 'could not start');
    logger.flush(() => process.exit(EXIT.failure));
    return EXIT.serving;
  }
  markAggregators(running.metrics.registry);
  const reloader = createReloader({
    file, logger,
    onSwap: (config) => running.applyConfig(config),
    onResult: (result) => running.metrics.configReloads.labels(result).inc(),
  });

  let stopping = false;
  let buffers: BufferCollector | null = null;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    buffers?.stop();
    logger.info({ signal: why }, 'draining');
    reloader.close();
    for (const p of pendingMetrics.values()) p.reject(new Error('draining'));
    running.shutdown().then(
      () => logger.flush(() => process.exit(EXIT.ok)),
      (e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        logger.flush(() => process.exit(EXIT.failure));
      },
    );
  };

  process.on('message', (m: unknown) => {
    if (!isToWorker(m)) return;
    switch (m.type) {
      case 'keygate:reload': {
        const report = m.report === true;
        void reloader.reload(m.reason).then((ok) => {
          if (!report) return;
          const c = running.current().config;
          send({ type: 'keygate:reloaded', ok, workers: c.server.workers, drainTimeoutMs: c.server.drainTimeoutMs });
        });
        return;
      }
      case 'keygate:reload-refused':
        running.metrics.configReloads.labels('failure').inc();
        return;
      case 'keygate:drain':
        stop('drain');
        return;
      case 'keygate:fleet':
        fleet = { serving: m.serving, total: m.total };
        return;
      case 'keygate:collect':
        running.metrics.registry.getMetricsAsJSON().then(
          (metrics) => send({ type: 'keygate:collected', id: m.id, metrics }),
          (e: unknown) => logger.error({ err: e }, 'could not collect metrics'),
        );
        return;
      case 'keygate:metrics': {
        const p = pendingMetrics.get(m.id);
        pendingMetrics.delete(m.id);
        if (m.error === undefined) p?.resolve({ contentType: m.contentType, body: m.body });
        else p?.reject(new Error(m.error));
      }
    }
  });
  // A terminal's ^C or a `kill` of the process group reaches every worker as well as the primary.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // The primary reloads every worker together; SIGHUP to the group must not end a worker.
  process.on('SIGHUP', () => {});
  // The primary is gone (killed): nobody will ever say drain, so drain now. node's cluster would
  // exit this worker at once, cutting what is in flight, unless the disconnect counts as asked
  // for — which it checks just after emitting this event.
  cluster.worker?.once('disconnect', () => {
    if (stopping) return;
    (cluster.worker as { exitedAfterDisconnect: boolean }).exitedAfterDisconnect = true;
    stop('primary exited');
  });
  send({ type: 'keygate:ready', port: running.port, adminPort: running.adminPort, checkPort: running.checkPort, grpcCheckPort: running.grpcCheckPort });
  // As the single process does (cli/serve.ts, src/memory/): the start-up garbage and the pages it
  // grew into given back once, then dead stream buffers collected by bytes. Without the first, an
  // idle worker kept ≈ 77 MiB PSS (issue 12's target is ≤ 60 MiB per added worker).
  compactHeap();
  buffers = startBufferCollector();
  return EXIT.serving;
}

