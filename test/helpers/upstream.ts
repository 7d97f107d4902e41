import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/** What the upstream actually received: the thing integration tests assert on. */
export interface Received {
  method: string;
  url: string;
  /** Raw header list as received (name, value, name, value...). */
  rawHeaders: string[];
  /** Lower-cased name → all values. */
  headers: Map<string, string[]>;
  body: Buffer;
  bodySha256: string;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, received: Received) => void;

export interface TestUpstream {
  url: string;
  port: number;
  server: Server;
  received: Received[];
  /** Number of TCP connections accepted so far / open now. */
  connections: { total: number; open: number };
  setHandler(h: UpstreamHandler | null): void;
  /** Resolves with the next request once its body has been read. */
  nextRequest(): Promise<Received>;
  close(): Promise<void>;
}

function headerMap(raw: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (let i = 0; i < raw.length; i += 2) {
    const k = (raw[i] as string).toLowerCase();
    m.set(k, [...(m.get(k) ?? []), raw[i + 1] as string]);
  }
  return m;
}

/**
 * A real HTTP upstream on a free loopback port. By default it reads the whole body and answers
 * 200 with a JSON echo of method and url; `setHandler` takes over for special behaviour
 * (streaming, slowness, failures). Body bytes are kept so tests can compare them exactly.
 */
export async function startUpstream(opts: { keepBodies?: boolean } = {}): Promise<TestUpstream> {
  const received: Received[] = [];
  const waiters: ((r: Received) => void)[] = [];
  let handler: UpstreamHandler | null = null;
  const connections = { total: 0, open: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    const hash = createHash('sha256');
    let size = 0;
    req.on('data', (c: Buffer) => {
      hash.update(c);
      size += c.length;
      if (opts.keepBodies !== false) chunks.push(c);
    });
    req.on('end', () => {
      const r: Received = {
        method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, headers: headerMap(req.rawHeaders),
        body: Buffer.concat(chunks), bodySha256: hash.digest('hex'),
      };
      if (opts.keepBodies === false) r.body = Buffer.alloc(0);
      Object.defineProperty(r, 'size', { value: size });
      received.push(r);
      waiters.shift()?.(r);
      if (handler !== null) return handler(req, res, r);
      const body = JSON.stringify({ method: r.method, url: r.url, bytes: size });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.on('connection', (s) => {
    connections.total++;
    connections.open++;
    s.on('close', () => connections.open--);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`, port, server, received, connections,
    setHandler: (h) => { handler = h; },
    nextRequest: () => new Promise((r) => waiters.push(r)),
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
