import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Generation } from '../generation.ts';
import { errorBody, GatewayError } from '../errors.ts';
import { clientErrorFor, sendError, sendErrorOnSocket } from '../respond.ts';
import type { CheckDecision, Decider } from './decide.ts';
import { checkInputOf, envoySentWholeBody, shapeOf } from './shapes.ts';

/**
 * Envoy HTTP ext_authz removes these request headers before the upstream when the answer is
 * OK (the HTTP service's counterpart of gRPC `headers_to_remove`).
 */
const ENVOY_REMOVE = 'x-envoy-auth-headers-to-remove';

export interface CheckListener {
  readonly port: number;
  /** Stop accepting; resolves when in-flight checks are answered or the deadline passed. */
  close(deadlineMs: number): Promise<void>;
}

type AllowedDecision = Extract<CheckDecision, { allowed: true }>;

/** The configured identity header names, and each by its lower-case name, once per config generation. */
interface IdentityNames {
  list: readonly string[];
  byLower: ReadonlyMap<string, string>;
}
const namesOf = new WeakMap<Generation, IdentityNames>();
function identityNames(gen: Generation): IdentityNames {
  let names = namesOf.get(gen);
  if (names === undefined) {
    const list = Object.values(gen.config.identity.names);
    namesOf.set(gen, (names = { list, byLower: new Map(list.map((n) => [n.toLowerCase(), n])) }));
  }
  return names;
}

/** Reads the body Envoy buffered, bounded like any body credential (credentials.body.maxBytes). */
async function envoyBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new GatewayError('body_too_large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * `x-envoy-auth-headers-to-remove` for an allowed Envoy HTTP answer. Envoy applies it *after*
 * setting the `allowed_upstream_headers` from the answer (ext_authz.cc, onComplete), so a name
 * keygate answers with a value must not be listed: the upstream would lose keygate's own header
 * (a client sending `X-Authenticated-Org` would strip the org). Those names are overwritten
 * instead, which is why docs/forward-auth.md requires `allowed_upstream_headers` to match every
 * identity name. A name answered empty stays listed: set, then removed, the upstream gets none
 * of it, whatever `allowed_upstream_headers` says. As the gRPC answer (to-check-response.ts).
 */
export function envoyRemovals(d: AllowedDecision, byLower: ReadonlyMap<string, string>): string {
  let out = '';
  for (const name of d.removeHeaders) {
    const configured = byLower.get(name);
    if (configured !== undefined && (d.identity[configured] ?? '') !== '') continue;
    out = out === '' ? name : `${out},${name}`;
  }
  return out;
}

/**
 * Allowed: 200 with the identity as response headers, for auth_request_set, authResponseHeaders,
 * copy_headers, allowed_upstream_headers. Every identity header is sent, empty when it has no
 * value (no org, a public route): the proxy's copy then overwrites whatever the client sent
 * under that name, and Caddy 2.6, which copies a missing header as its literal placeholder
 * text, copies an empty value instead.
 */
function answer(res: ServerResponse, d: CheckDecision, envoy: boolean, names: IdentityNames): void {
  if (!d.allowed) {
    const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(d.body), 'cache-control': 'no-store', 'x-request-id': d.requestId, ...d.headers };
    res.writeHead(d.status, headers);
    return void res.end(d.body);
  }
  // A flat name/value list: node writes it as is, with no object to walk.
  const headers: string[] = ['cache-control', 'no-store', 'x-request-id', d.requestId, 'content-length', '0'];
  for (const name of names.list) headers.push(name, d.identity[name] ?? '');
  if (envoy) {
    const remove = envoyRemovals(d, names.byLower);
    if (remove !== '') headers.push(ENVOY_REMOVE, remove);
  }
  res.writeHead(200, headers);
  res.end();
}

/**
 * The HTTP check listener: `/check` (nginx, ingress-nginx, Traefik, Caddy) and Envoy HTTP
 * ext_authz under `check.pathPrefix`. It decides and answers; nothing is ever forwarded.
 */
export function createCheckServer(decider: Decider, current: () => Generation): Server {
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const gen = current();
    const cfg = gen.config.check;
    const shape = shapeOf(req, cfg);
    if (shape === null) {
      const err = new GatewayError('route_not_found', `Checks are asked on /check or under ${cfg.pathPrefix}/`);
      return sendError(res, err, '', true);
    }
    let body: Buffer | null = null;
    // Only a body Envoy says it buffered is read: no await otherwise, so a cached decision is
    // answered in the tick that parsed it.
    if (shape === 'envoy-http' && envoySentWholeBody(req, cfg)) {
      try {
        body = await envoyBody(req, gen.config.credentials.body.maxBytes);
      } catch (e) {
        return sendError(res, e instanceof GatewayError ? e : new GatewayError('invalid_request'), '', true);
      }
    }
    const d = decider.decide(checkInputOf(shape, req, cfg, body));
    answer(res, d instanceof Promise ? await d : d, shape === 'envoy-http', identityNames(gen));
  }

  // The proxy listener's parser limits and timeouts (server.*): a check request is a request.
  const s = current().config.server;
  const server = createServer({
    maxHeaderSize: s.maxHeaderBytes,
    headersTimeout: s.headersTimeoutMs,
    requestTimeout: s.requestTimeoutMs,
    keepAliveTimeout: s.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(Math.min(s.headersTimeoutMs, s.requestTimeoutMs || Infinity) / 4))),
    insecureHTTPParser: false,
    joinDuplicateHeaders: false,
  }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      // The decider answers every refusal itself; this is a bug or a broken socket.
      if (!res.headersSent) {
        const body = errorBody('internal_error', 'Internal error', '');
        res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      } else res.destroy(e instanceof Error ? e : undefined);
    });
  });
  // Node would drop headers past 2000 silently; the front stages count them (431), as on the proxy.
  server.maxHeadersCount = 0;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    sendErrorOnSocket(socket, clientErrorFor(err), '');
  });
  return server;
}

/** Starts the HTTP check listener on `check.host:check.port`. */
export async function startCheckListener(decider: Decider, current: () => Generation): Promise<CheckListener> {
  const server = createCheckServer(decider, current);
  const cfg = current().config.check;
  let inflight = 0;
  let draining = false;
  let drained: (() => void) | null = null;
  // Before the handler: a decision on a cached key is answered inside the handler's own call,
  // so Connection: close must already be set by then.
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    inflight++;
    // While draining, answer what is in flight but tell keep-alive clients to go elsewhere.
    if (draining) res.setHeader('connection', 'close');
    res.on('close', () => {
      if (--inflight === 0 && drained !== null) drained();
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  return {
    port,
    async close(deadlineMs) {
      draining = true;
      server.close();
      server.closeIdleConnections();
      if (inflight > 0) {
        const allDone = new Promise<void>((r) => (drained = r));
        await Promise.race([allDone, new Promise((r) => setTimeout(r, deadlineMs).unref())]);
      }
      server.closeAllConnections();
    },
  };
}
