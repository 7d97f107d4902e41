import cluster from 'node:cluster';
import { createLogger } from '../log/logger.ts';
import type { startGateway } from '../server.ts';
import { EXIT, type CommandResult } from './exit-codes.ts';
import { compactHeap } from '../memory/compact-heap.ts';
import { startBufferCollector } from '../memory/buffer-collector.ts';
import { resolveServeConfig } from './serve-config.ts';
import { resolveWorkers } from '../workers/count.ts';
import { PRIMARY_ENV, WORKER_SLOT_ENV } from '../workers/messages.ts';

/**
 * `keygate serve`: load and validate the config (refusing to start on any problem), start the
 * listeners, reload on SIGHUP and on file change, drain on SIGTERM/SIGINT and exit 0. With
 * `server.workers` > 1 this process becomes the workers' supervisor (src/workers/primary.ts).
 * `flag` is `--config`; without it the file comes from resolveServeConfig.
 */
export async function serveCommand(flag: string | undefined): Promise<CommandResult> {
  const { file, source } = resolveServeConfig(flag, process.env, process.cwd());
  // A `server.workers` worker runs this same command (cluster forks argv as given). Only ours:
  // under another cluster primary (pm2's cluster mode) keygate is an ordinary single process.
  if (cluster.isWorker && process.env[WORKER_SLOT_ENV] !== undefined) return (await import('../workers/worker.ts')).serveWorker(file);
  // This process re-executed itself as a lean `server.workers` primary (below): the file was
  // validated a moment ago by the image it replaced.
  const primary = process.env[PRIMARY_ENV];
  if (primary !== undefined && !cluster.isWorker) {
    delete process.env[PRIMARY_ENV];
    const p = JSON.parse(primary) as { workers: number; configured: number | 'auto'; drainTimeoutMs: number; level: string };
    const logger = createLogger(p.level, 1, { shared: true, bindings: { worker: 'primary' } });
    return (await import('../workers/primary.ts')).servePrimary({ file, logger, workers: p.workers, configured: p.configured, drainTimeoutMs: p.drainTimeoutMs });
  }
  // Imported here: that lean primary never loads the config machinery (ajv compiles the schema
  // when load.ts is imported).
  const { loadConfigFile } = await import('../config/load.ts');
  const { formatProblems } = await import('../config/format.ts');
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) {
    process.stderr.write(`${formatProblems(loaded.problems)}\nkeygate: not starting: ${loaded.problems.length} problem(s) in ${file} (${source})\n`);
    return EXIT.invalidConfig;
  }
  const workers = resolveWorkers(loaded.config.server.workers);
  // Several processes share stdout with workers: whole lines per write (log/sink.ts).
  const logger = createLogger(loaded.config.log.level, 1, workers > 1 && !cluster.isWorker ? { shared: true, bindings: { worker: 'primary' } } : {});
  // First line of every run: which file, and why that one (an operator debugging "my change
  // does nothing" is usually running another file).
  logger.info({ config: file, source }, `config ${file} (${source})`);
  if (workers > 1 && cluster.isWorker) {
    // Another cluster primary (pm2) runs this process: it cannot fork workers of its own.
    logger.fatal({ workers }, 'could not start: server.workers > 1 inside another cluster manager\'s worker; use its instances instead, or run keygate serve directly');
    // Exit, not return: the IPC channel to that primary would keep this process alive.
    logger.flush(() => process.exit(EXIT.failure));
    return EXIT.serving;
  }
  if (workers > 1) {
    const settings = { workers, configured: loaded.config.server.workers, drainTimeoutMs: loaded.config.server.drainTimeoutMs, level: loaded.config.log.level };
    // Replace this process image (same pid, so signals and supervisors see no change) with one
    // that never parsed the file: V8 and malloc keep a big file's parse resident (a 10k-key
    // config left the primary at 243 MiB RSS; re-executed it idles like an empty one).
    const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
    if (typeof execve === 'function') {
      await new Promise<void>((r) => logger.flush(() => r()));
      execve.call(process, process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, [PRIMARY_ENV]: JSON.stringify(settings) });
    }
    return (await import('../workers/primary.ts')).servePrimary({ file, logger, workers, configured: settings.configured, drainTimeoutMs: settings.drainTimeoutMs });
  }
  let running: Awaited<ReturnType<typeof startGateway>>;
  try {
    // Imported here, not above: a `server.workers` primary never loads the gateway (it stays small).
    const { startGateway } = await import('../server.ts');
    running = await startGateway({ config: loaded.config, logger });
  } catch (e) {
    logger.fatal({ err: e }, 'could not start');
    logger.flush();
    return EXIT.failure;
  }
  // The config load's garbage and the pages it grew the heap into, given back once; then dead
  // stream buffers collected by bytes, not left to pile up (src/memory/, issue 12).
  compactHeap();
  const buffers = startBufferCollector();
  const { createReloader } = await import('../config/reloader.ts');
  const reloader = createReloader({
    file, logger,
    onSwap: (config) => running.applyConfig(config),
    onResult: (result) => running.metrics.configReloads.labels(result).inc(),
  });
  reloader.watch();
  process.on('SIGHUP', () => void reloader.reload('sighup'));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    reloader.close();
    buffers?.stop();
    running.shutdown().then(
      () => logger.flush(() => process.exit(EXIT.ok)),
      (e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        logger.flush(() => process.exit(EXIT.failure));
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return EXIT.serving;
}
