import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText } from '../../src/config/load.ts';
import { formatProblems } from '../../src/config/format.ts';
import { createLogger } from '../../src/log/logger.ts';
import { startGateway, type RunningGateway } from '../../src/server.ts';
import type { KeyStore } from '../../src/keystore/types.ts';

export interface TestGateway extends RunningGateway {
  url: string;
  adminUrl: string;
  /** The HTTP check listener (decision mode), when the config has a `check` section. */
  checkUrl: string;
  /** Everything logged so far (JSON lines), after flushing. */
  logs(): Promise<string>;
  close(): Promise<void>;
}

/**
 * keygate in-process on free loopback ports, from a YAML text (loaded by the real loader, so
 * tests exercise the same path as `keygate serve`). Server and admin ports are forced to 0.
 */
export async function startTestGateway(yaml: string, opts: { env?: NodeJS.ProcessEnv; store?: KeyStore; consoleAssets?: string; adminPort?: number } = {}): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-test-'));
  const file = join(dir, 'keygate.yaml');
  const loaded = loadConfigText(yaml, file, { ...opts.env });
  if (!loaded.ok) throw new Error(`test config invalid:\n${formatProblems(loaded.problems)}`);
  const config = loaded.config;
  config.server.port = 0;
  config.server.host = '127.0.0.1';
  config.admin.port = opts.adminPort ?? 0;
  config.admin.host = '127.0.0.1';
  config.check.port = 0;
  config.check.host = '127.0.0.1';
  if (config.check.grpcPort !== null) config.check.grpcPort = 0;
  const logFile = join(dir, 'log.jsonl');
  const logger = createLogger(config.log.level === 'silent' ? 'silent' : 'info', logFile);
  const gw = await startGateway({ config, logger, ...(opts.store === undefined ? {} : { store: opts.store }), ...(opts.consoleAssets === undefined ? {} : { consoleAssets: opts.consoleAssets }) });
  return Object.assign(gw, {
    url: `http://127.0.0.1:${gw.port}`,
    adminUrl: `http://127.0.0.1:${gw.adminPort}`,
    checkUrl: gw.checkPort === null ? '' : `http://127.0.0.1:${gw.checkPort}`,
    logs: () => new Promise<string>((resolve) => logger.flush(() => resolve(settledLog(logFile)))),
    close: () => gw.shutdown(),
  });
}

/**
 * The log file once writing has settled: after flush() has written the buffer, a write may
 * still be in flight, so wait for the file to stop growing.
 */
async function settledLog(file: string): Promise<string> {
  let last = readFileSync(file, 'utf8');
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 20));
    const now = readFileSync(file, 'utf8');
    if (now === last) return now;
    last = now;
  }
  return last;
}
