import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { GatewayConfig } from './config/types.ts';
import type { KeyStore } from './keystore/types.ts';
import type { Logger } from './log/logger.ts';
import { buildGeneration, type Generation } from './generation.ts';
import { createGateway } from './gateway.ts';
import { createResolver } from './keystore/resolve.ts';
import { MemoryKeyStore } from './keystore/memory-store.ts';
import { createAccessLog } from './log/access.ts';
import { UpstreamPools } from './proxy/pools.ts';
import { createWebSocketProxy } from './proxy/websocket.ts';
import { GatewayError, toGatewayError } from './errors.ts';
import { sendErrorOnSocket } from './respond.ts';
import { createAdminServer } from './admin/server.ts';

export interface RunningGateway {
  /** Bound ports (useful with port 0 in tests). */
  readonly port: number;
  readonly adminPort: number;
  /** The generation new requests start on. */
  current(): Generation;
  /** Swap in a new, already validated config. In-flight requests finish on the old one. */
  applyConfig(config: GatewayConfig): Promise<void>;
  /** Stop accepting, let in-flight requests finish up to the drain deadline, then close everything. */
  shutdown(): Promise<void>;
}

export interface StartOptions {
  config: GatewayConfig;
  logger: Logger;
  /** Defaults to the embedded store. */
  store?: KeyStore;
}

/** Parser-level rejections (framing, size, slowness) → the same JSON errors, then close. */
function clientErrorFor(err: NodeJS.ErrnoException): GatewayError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT': return new GatewayError('request_timeout');
    case 'HPE_HEADER_OVERFLOW': return new GatewayError('headers_too_large');
    default: return new GatewayError('invalid_request', 'Malformed HTTP request');
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startGateway(opts: StartOptions): Promise<RunningGateway> {
  const { logger } = opts;
  const store = opts.store ?? new MemoryKeyStore();
  const pools = new UpstreamPools();
  let seq = 1;
  await store.syncDeclarative(opts.config.principals);
  let gen = buildGeneration(opts.config, seq, pools);
  let draining = false;
  let inflight = 0;
  let drained: (() => void) | null = null;

  const gateway = createGateway({ current: () => gen, resolver: createResolver(store), accessLog: createAccessLog(logger) });
  const ws = createWebSocketProxy();
  const cfg = opts.config.server;

  async function onRequest(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): Promise<void> {
    inflight++;
    // While draining, answer what is in flight but tell keep-alive clients to go elsewhere.
    if (draining) res.setHeader('connection', 'close');
    try {
      await gateway.handle(req, res, expectContinue);
    } finally {
      if (--inflight === 0 && drained !== null) drained();
    }
  }

  const server = createServer(
    {
      maxHeaderSize: cfg.maxHeaderBytes,
      headersTimeout: cfg.headersTimeoutMs,
      requestTimeout: cfg.requestTimeoutMs,
      keepAliveTimeout: cfg.keepAliveTimeoutMs,
      // Strict framing is the point: CL+TE, duplicate CL, obfuscated TE are parse errors.
      insecureHTTPParser: false,
      joinDuplicateHeaders: false,
    },
    (req, res) => void onRequest(req, res, false),
  );
  // Node would otherwise drop headers past 2000 silently; the gateway counts them itself (431).
  server.maxHeadersCount = 0;
  server.on('checkContinue', (req, res) => void onRequest(req, res, true));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    sendErrorOnSocket(socket, clientErrorFor(err), '');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const ctx = gateway.newContext(req, undefined, false);
    socket.on('error', () => socket.destroy());
    gateway.admit(ctx).then(
      () => ws.forward(ctx, socket, head),
      (e: unknown) => sendErrorOnSocket(socket, toGatewayError(e), ctx.id),
    );
  });

  const port = await listen(server, cfg.port, cfg.host);
  const admin = createAdminServer({
    ready: () => (draining ? { ready: false, reason: 'draining' } : store.isReady() ? { ready: true } : { ready: false, reason: 'keystore' }),
    logger,
  });
  const adminPort = await listen(admin, opts.config.admin.port, opts.config.admin.host);
  logger.info({ port, adminPort, store: store.kind, routes: opts.config.routes.length }, 'keygate listening');

  return {
    port,
    adminPort,
    current: () => gen,
    async applyConfig(config) {
      await store.syncDeclarative(config.principals);
      gen = buildGeneration(config, ++seq, pools);
    },
    async shutdown() {
      draining = true;
      const deadline = gen.config.server.drainTimeoutMs;
      server.close();
      server.closeIdleConnections();
      if (inflight > 0) {
        const allDone = new Promise<void>((r) => (drained = r));
        const timer = new Promise<'timeout'>((r) => setTimeout(r, deadline, 'timeout').unref());
        if ((await Promise.race([allDone, timer])) === 'timeout') logger.warn({ inflight }, 'drain deadline reached; closing connections');
      }
      server.closeAllConnections();
      ws.close();
      await new Promise<void>((r) => admin.close(() => r()));
      admin.closeAllConnections();
      await pools.destroy();
      await store.close();
      logger.info({}, 'keygate stopped');
    },
  };
}
