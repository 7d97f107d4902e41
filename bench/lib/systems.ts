import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/helpers/ports.ts';
import { startPinned, waitForPort, type Started } from './procs.ts';
import { writeKeygateConfig } from './keygate-config.ts';
import { writeNginxConfig } from './nginx-config.ts';
import { KEYGATE_BIN, keygateUnavailable } from './keygate-entry.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const node = process.execPath;

export interface Ctx {
  /** Core the system under test is pinned to (null: unpinned). */
  core: number | null;
  upstream: string;
  upstreamPort: number;
  work: string;
  secrets: string[];
}

export interface System {
  id: string;
  label: string;
  /** Starts it on `port`, resolved once the port accepts connections. */
  start(port: number, ctx: Ctx): Promise<Started>;
  /** Why it cannot run here, or null. */
  unavailable?(): string | null;
}

async function nodeScript(script: string, port: number, ctx: Ctx, extra: string[] = []): Promise<Started> {
  const s = startPinned(ctx.core, [node, join(ROOT, script), String(port), ...extra], { cwd: ROOT });
  await waitForPort(port, s);
  return s;
}

export const SYSTEMS: System[] = [
  {
    id: 'direct', label: 'upstream direct (no proxy)',
    // A second upstream instance, pinned like every other system under test.
    start: (port, ctx) => nodeScript('bench/upstream.mjs', port, ctx),
  },
  {
    id: 'undici', label: 'bare undici passthrough',
    start: (port, ctx) => nodeScript('bench/baselines/undici-passthrough.mjs', port, ctx, [ctx.upstream]),
  },
  {
    id: 'http-proxy-3', label: 'http-proxy-3 (node:http, keep-alive Agent)',
    start: (port, ctx) => nodeScript('bench/baselines/http-proxy-3.mjs', port, ctx, [ctx.upstream]),
  },
  {
    id: 'fastify', label: '@fastify/http-proxy (undici)',
    start: (port, ctx) => nodeScript('bench/baselines/fastify-http-proxy.mjs', port, ctx, [ctx.upstream]),
  },
  {
    id: 'nginx', label: 'nginx (1 worker, upstream keepalive)',
    async start(port, ctx) {
      const prefix = join(ctx.work, 'nginx');
      mkdirSync(prefix, { recursive: true });
      writeNginxConfig(prefix, port, ctx.upstreamPort);
      // -e: nginx opens its error log before reading the config; keep it in the prefix too.
      const s = startPinned(ctx.core, ['nginx', '-p', `${prefix}/`, '-c', 'nginx.conf', '-e', 'error.log']);
      await waitForPort(port, s);
      return s;
    },
  },
  {
    id: 'keygate', label: 'keygate (auth, 10k keys, info log → /dev/null)',
    unavailable: keygateUnavailable,
    async start(port, ctx) {
      const file = join(ctx.work, 'keygate.yaml');
      writeKeygateConfig(file, { port, adminPort: await freePort(), upstream: ctx.upstream, secrets: ctx.secrets, logLevel: process.env['BENCH_KEYGATE_LOG'] ?? 'info' });
      // stdout (the JSON access log) to /dev/null: the logging cost is measured, not a terminal's.
      const s = startPinned(ctx.core, [node, KEYGATE_BIN, 'serve', '--config', file], { cwd: ROOT, stdout: 'ignore' });
      await waitForPort(port, s, 60_000);
      return s;
    },
  },
  {
    id: 'keygate-nolog', label: 'keygate, access log off (log.level warn)',
    unavailable: keygateUnavailable,
    async start(port, ctx) {
      const file = join(ctx.work, 'keygate.yaml');
      writeKeygateConfig(file, { port, adminPort: await freePort(), upstream: ctx.upstream, secrets: ctx.secrets, logLevel: 'warn' });
      // The same gateway without its per-request log line: what that line costs.
      const s = startPinned(ctx.core, [node, KEYGATE_BIN, 'serve', '--config', file], { cwd: ROOT, stdout: 'ignore' });
      await waitForPort(port, s, 60_000);
      return s;
    },
  },
];
