import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { deferred, rawRequest, within } from '../helpers/sockets.ts';

/**
 * The proxy path end to end: bodies stream both ways (never buffered), arrive byte-exact, and
 * the headers that describe one connection (hop-by-hop, X-Forwarded-*, Expect) are handled at
 * this hop. Every assertion is on what the upstream received or what the client got.
 */

const alice = newKey();
const AUTH = { authorization: `Bearer ${alice.secret}` };
const MiB = 1024 * 1024;

let up: TestUpstream;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(`
upstreams: { app: { url: "${up.url}", timeout: 5s, connectTimeout: 2s, bodyTimeout: 5s, connections: 4 } }
server: { headersTimeout: 5s, requestTimeout: 20s, maxHeaders: 50, maxHeaderBytes: 8192 }
log: { level: silent }
roles: { editor: { actions: [application:view, application:edit] } }
routes:
  - { name: health, path: /health, upstream: app, public: true }
  - { name: app, path: "/api/applications/:appId/*", upstream: app, action: application:view }
principals:
  - { name: alice, kind: user, roles: [editor], keys: [{ id: alice-1, hash: "${alice.hash}" }] }
`);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});
afterEach(() => up.setHandler(null));

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('bodies stream, both ways', () => {
  it('the upstream receives the first request chunk before the client sends the rest', async () => {
    const firstAtUpstream = deferred<Buffer>();
    const onRequest = (req: IncomingMessage) => {
      if (req.url === '/api/applications/1/stream-up') req.once('data', (c: Buffer) => firstAtUpstream.resolve(c));
    };
    up.server.on('request', onRequest);
    try {
      let seenBeforeRest: Buffer | 'not before the rest was sent' = 'not before the rest was sent';
      async function* body() {
        yield Buffer.from('first-chunk;');
        // Hold the rest back until the upstream has the first chunk. A buffering proxy would wait
        // for the end of the body, so the upstream would see nothing within the window.
        seenBeforeRest = await within(firstAtUpstream.promise, 5000, 'not before the rest was sent' as const);
        yield Buffer.from('second-chunk');
      }
      const next = up.nextRequest();
      const res = await request(`${gw.url}/api/applications/1/stream-up`, { method: 'POST', headers: AUTH, body: Readable.from(body(), { objectMode: false }) });
      await res.body.text();
      expect(res.statusCode).toBe(200);
      expect(String(seenBeforeRest)).toBe('first-chunk;');
      const seen = await next;
      expect(seen.body.toString()).toBe('first-chunk;second-chunk');
      expect(seen.headers.get('transfer-encoding')).toEqual(['chunked']);
    } finally {
      up.server.off('request', onRequest);
    }
  });

  it('the client receives the first response chunk before the upstream finishes', async () => {
    const firstAtClient = deferred();
    let upstreamWaited: 'client had it' | 'timeout' | null = null;
    up.setHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('head-part;');
      void within(firstAtClient.promise.then(() => 'client had it' as const), 5000, 'timeout' as const).then((v) => {
        upstreamWaited = v;
        res.end('tail-part');
      });
    });
    const res = await request(`${gw.url}/api/applications/1/stream-down`, { headers: AUTH });
    expect(res.statusCode).toBe(200);
    const chunks: string[] = [];
    for await (const c of res.body) {
      chunks.push((c as Buffer).toString());
      firstAtClient.resolve();
    }
    expect(upstreamWaited).toBe('client had it');
    expect(chunks[0]).toBe('head-part;');
    expect(chunks.join('')).toBe('head-part;tail-part');
  });

  it('a 20 MiB chunked upload arrives byte-exact', async () => {
    const data = randomBytes(20 * MiB);
    async function* body() {
      for (let off = 0; off < data.length; off += 256 * 1024) yield data.subarray(off, off + 256 * 1024);
    }
    const next = up.nextRequest();
    const res = await request(`${gw.url}/api/applications/1/big-upload`, { method: 'PUT', headers: AUTH, body: Readable.from(body(), { objectMode: false }) });
    const echo = (await res.body.json()) as { bytes: number };
    expect(res.statusCode).toBe(200);
    expect(echo.bytes).toBe(data.length);
    const seen = await next;
    expect(seen.body.length).toBe(data.length);
    expect(seen.bodySha256).toBe(sha256(data));
  });

  it('a 20 MiB upload with Content-Length arrives byte-exact with its length', async () => {
    const data = randomBytes(20 * MiB);
    const next = up.nextRequest();
    const res = await request(`${gw.url}/api/applications/1/big-upload-cl`, { method: 'POST', headers: AUTH, body: data });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    const seen = await next;
    expect(seen.headers.get('content-length')).toEqual([String(data.length)]);
    expect(seen.headers.has('transfer-encoding')).toBe(false);
    expect(seen.bodySha256).toBe(sha256(data));
  });

  it('a 20 MiB download arrives byte-exact', async () => {
    const data = randomBytes(20 * MiB);
    up.setHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(data); // chunked: no length to check against, only the bytes
    });
    const res = await request(`${gw.url}/api/applications/1/big-download`, { headers: AUTH });
    expect(res.statusCode).toBe(200);
    const hash = createHash('sha256');
    let size = 0;
    for await (const c of res.body) {
      hash.update(c as Buffer);
      size += (c as Buffer).length;
    }
    expect(size).toBe(data.length);
    expect(hash.digest('hex')).toBe(sha256(data));
  });

  it('an upstream that stops reading holds the upload back (backpressure), and then gets every byte', async () => {
    // A plain node:http upstream: the shared test upstream reads every body to record it.
    const TOTAL = 256 * MiB;
    const CHUNK = Buffer.alloc(64 * 1024, 3);
    let produced = 0;
    const reading = deferred<void>();
    const slow = createServer((req, res) => {
      req.pause();
      void reading.promise.then(() => {
        let got = 0;
        req.on('data', (c: Buffer) => (got += c.length));
        req.on('end', () => res.end(JSON.stringify({ got })));
        req.resume();
      });
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const g = await startTestGateway(`
upstreams: { slow: { url: "http://127.0.0.1:${(slow.address() as AddressInfo).port}", timeout: 20s, bodyTimeout: 20s } }
log: { level: silent }
roles: { editor: { actions: [application:edit] } }
routes: [{ name: up, path: "/*", upstream: slow, action: application:edit }]
principals: [{ name: alice, kind: user, roles: [editor], keys: [{ id: alice-1, hash: "${alice.hash}" }] }]
`);
    try {
      async function* body() {
        while (produced < TOTAL) {
          produced += CHUNK.length;
          yield CHUNK;
        }
      }
      const pending = request(`${g.url}/upload`, { method: 'PUT', headers: { ...AUTH, 'content-length': String(TOTAL) }, body: Readable.from(body()) });
      await new Promise((r) => setTimeout(r, 700));
      const heldAt = produced;
      reading.resolve();
      const res = await pending;
      expect(heldAt).toBeLessThan(32 * MiB); // socket buffers on both hops; a buffering gateway would take it all
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toEqual({ got: TOTAL });
    } finally {
      await g.close();
      slow.closeAllConnections();
      await new Promise((r) => slow.close(r));
    }
  }, 30_000);

  it('a client that stops reading holds the upstream back (backpressure), and then gets every byte', async () => {
    const TOTAL = 256 * MiB;
    const CHUNK = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    let finished = false;
    up.setHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': TOTAL });
      // Writes only while the socket takes them: how far it gets shows what keygate accepted.
      const pump = () => {
        while (written < TOTAL) {
          written += CHUNK.length;
          if (!res.write(CHUNK)) return void res.once('drain', pump);
        }
        finished = true;
        res.end();
      };
      pump();
    });
    const res = await request(`${gw.url}/api/applications/1/slow-reader`, { headers: AUTH, highWaterMark: 64 * 1024 });
    expect(res.statusCode).toBe(200);
    // Read nothing for a while: a gateway that buffered would have let the upstream send it all.
    await new Promise((r) => setTimeout(r, 700));
    const heldAt = written;
    expect(finished).toBe(false);
    expect(heldAt).toBeLessThan(32 * MiB); // socket buffers on both hops, not 256 MiB in keygate's heap
    let size = 0;
    for await (const c of res.body) size += (c as Buffer).length;
    expect(size).toBe(TOTAL);
    expect(finished).toBe(true);
  }, 30_000);
});

describe('request framing', () => {
  it('a GET without a body is forwarded without Content-Length or Transfer-Encoding', async () => {
    const next = up.nextRequest();
    const res = await request(`${gw.url}/api/applications/1/plain-get`, { headers: AUTH });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    const seen = await next;
    expect(seen.method).toBe('GET');
    expect(seen.headers.has('transfer-encoding')).toBe(false);
    expect(seen.headers.has('content-length')).toBe(false);
    expect(seen.body.length).toBe(0);
  });

  it('a POST with Content-Length: 0 is forwarded with an empty body and no chunked framing', async () => {
    const next = up.nextRequest();
    const r = await rawRequest(gw.port,
      `POST /api/applications/1/empty HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${alice.secret}\r\nContent-Length: 0\r\n\r\n`);
    expect(r.status).toBe(200);
    const seen = await next;
    expect(seen.method).toBe('POST');
    expect(seen.body.length).toBe(0);
    expect(seen.headers.has('transfer-encoding')).toBe(false);
    expect(seen.headers.get('content-length') ?? ['0']).toEqual(['0']);
  });
});

describe('response headers', () => {
  it('every Set-Cookie header of the upstream reaches the client', async () => {
    up.setHandler((_req, res) => {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly', 'c=3; Secure']);
      res.end('ok');
    });
    const res = await request(`${gw.url}/api/applications/1/cookies`, { headers: AUTH });
    await res.body.text();
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly', 'c=3; Secure']);
  });
});

describe('hop-by-hop headers', () => {
  it('are removed from the request, with every header Connection names, but not the injected identity', async () => {
    const next = up.nextRequest();
    const r = await rawRequest(gw.port, [
      'GET /api/applications/1/hop HTTP/1.1',
      'Host: t',
      `Authorization: Bearer ${alice.secret}`,
      'Connection: keep-alive, X-Foo, X-Authenticated-User',
      'X-Foo: 1',
      'Keep-Alive: timeout=30',
      'TE: trailers',
      'Proxy-Authorization: Basic dXNlcjpwYXNz',
      'Proxy-Connection: keep-alive',
      'X-Kept: yes',
      '', '',
    ].join('\r\n'));
    expect(r.status).toBe(200);
    const seen = await next;
    for (const h of ['x-foo', 'keep-alive', 'te', 'proxy-authorization', 'proxy-connection', 'authorization']) {
      expect(seen.headers.get(h), h).toBeUndefined();
    }
    // undici writes its own `connection: keep-alive` for the upstream hop; the client's never passes.
    expect((seen.headers.get('connection') ?? []).join(',')).not.toMatch(/x-foo|x-authenticated/i);
    expect(seen.headers.get('x-kept')).toEqual(['yes']);
    expect(seen.headers.get('x-authenticated-user')).toEqual(['alice']);
  });

  it('are removed from the response, with every header the upstream Connection names', async () => {
    up.setHandler((_req, res) => {
      res.setHeader('connection', 'X-Bar');
      res.setHeader('x-bar', 'connection-private');
      res.setHeader('proxy-authenticate', 'Basic realm="up"');
      res.setHeader('x-kept', 'yes');
      res.end('ok');
    });
    const res = await request(`${gw.url}/api/applications/1/hop-res`, { headers: AUTH });
    expect(await res.body.text()).toBe('ok');
    expect(res.headers['x-bar']).toBeUndefined();
    expect(res.headers['proxy-authenticate']).toBeUndefined();
    expect(String(res.headers['connection'] ?? '')).not.toMatch(/x-bar/i);
    expect(res.headers['x-kept']).toBe('yes');
  });
});

describe('X-Forwarded-*', () => {
  // No server.trustedProxies: the client's claims are replaced by keygate's view (issue 10 #9;
  // the trusted case is test/regressions/header-client-address.test.ts).
  it('replaces client-sent X-Forwarded-For, -Proto and -Host from an untrusted peer', async () => {
    const next = up.nextRequest();
    const r = await rawRequest(gw.port, [
      'GET /api/applications/1/xf HTTP/1.1',
      'Host: api.example.test',
      `Authorization: Bearer ${alice.secret}`,
      'X-Forwarded-For: 203.0.113.9',
      'X-Forwarded-Proto: https',
      'X-Forwarded-Host: evil.example',
      '', '',
    ].join('\r\n'));
    expect(r.status).toBe(200);
    const seen = await next;
    expect(seen.headers.get('x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(seen.headers.get('x-forwarded-proto')).toEqual(['http']);
    expect(seen.headers.get('x-forwarded-host')).toEqual(['api.example.test']);
    expect(seen.headers.get('host')).toEqual([`127.0.0.1:${up.port}`]); // preserveHost: false
  });

  it('starts X-Forwarded-For with the peer when the client sent none', async () => {
    const next = up.nextRequest();
    const res = await request(`${gw.url}/api/applications/1/xf2`, { headers: AUTH });
    await res.body.text();
    const seen = await next;
    expect(seen.headers.get('x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(seen.headers.get('x-forwarded-host')).toEqual([`127.0.0.1:${gw.port}`]);
  });
});

describe('Expect: 100-continue (curl)', () => {
  let dir: string;
  let file: string;
  let data: Buffer;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'keygate-curl-'));
    file = join(dir, 'upload.bin');
    data = randomBytes(2 * MiB);
    writeFileSync(file, data);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Asynchronous on purpose: keygate runs in this process and must keep serving while curl runs.
  function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile('/usr/bin/curl', args, { timeout: 20_000, maxBuffer: 8 * MiB }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      });
    });
  }

  it('an authorized upload gets 100 Continue, and the upstream gets the exact bytes without Expect', async () => {
    const next = up.nextRequest();
    const r = await curl(['-sS', '-v', '-T', file, '-H', `Authorization: Bearer ${alice.secret}`, '-H', 'Expect: 100-continue',
      '-w', '\n%{http_code}', `${gw.url}/api/applications/1/upload`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').pop()).toBe('200');
    expect(r.stderr).toMatch(/^> Expect: 100-continue/im);
    expect(r.stderr).toMatch(/^< HTTP\/1\.1 100 Continue/im);
    const seen = await next;
    expect(seen.method).toBe('PUT');
    expect(seen.body.length).toBe(data.length);
    expect(seen.bodySha256).toBe(sha256(data));
    expect(seen.headers.has('expect')).toBe(false);
  });

  it('an unauthorized upload gets 401 without 100 Continue, and the upstream receives nothing', async () => {
    const before = up.received.length;
    const connectionsBefore = up.connections.total;
    const r = await curl(['-sS', '-v', '-T', file, '-H', `Authorization: Bearer ${newKey().secret}`, '-H', 'Expect: 100-continue',
      '-w', '\n%{http_code}', `${gw.url}/api/applications/1/upload`]);
    const lines = r.stdout.trim().split('\n');
    expect(lines.pop()).toBe('401');
    expect(JSON.parse(lines.join('\n'))).toMatchObject({ error: { code: 'invalid_key' } });
    expect(r.stderr).not.toMatch(/100 Continue/i);
    expect(r.stderr).toMatch(/^< connection: close/im);
    expect(up.received.length).toBe(before);
    expect(up.connections.total).toBe(connectionsBefore);
  });
});
