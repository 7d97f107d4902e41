import { loadConfigFile } from '../config/load.ts';
import { formatProblems } from '../config/format.ts';
import { createReloader } from '../config/reloader.ts';
import { createLogger } from '../log/logger.ts';
import { startGateway } from '../server.ts';
import { EXIT, type CommandResult } from './exit-codes.ts';
import { compactHeap } from '../memory/compact-heap.ts';
import { startBufferCollector } from '../memory/buffer-collector.ts';
import { resolveServeConfig } from './serve-config.ts';

/**
 * `keygate serve`: load and validate the config (refusing to start on any problem), start the
 * listeners, reload on SIGHUP and on file change, drain on SIGTERM/SIGINT and exit 0.
 * `flag` is `--config`; without it the file comes from resolveServeConfig.
 */
export async function serveCommand(flag: string | undefined): Promise<CommandResult> {
  const { file, source } = resolveServeConfig(flag, process.env, process.cwd());
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) {
    process.stderr.write(`${formatProblems(loaded.problems)}\nkeygate: not starting: ${loaded.problems.length} problem(s) in ${file} (${source})\n`);
    return EXIT.invalidConfig;
  }
  const logger = createLogger(loaded.config.log.level);
  // First line of every run: which file, and why that one (an operator debugging "my change
  // does nothing" is usually running another file).
  logger.info({ config: file, source }, `config ${file} (${source})`);
  let running: Awaited<ReturnType<typeof startGateway>>;
  try {
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
