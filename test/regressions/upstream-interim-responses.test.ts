import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { firstResponse, hasCompleteResponse, openRaw, rawRequest } from '../helpers/sockets.ts';

/**
 * Issue 10, item 17: any `100 Continue` from the upstream — unsolicited, twice, or while an
 * `Expect: 100-continue` upload is under way — turned the exchange into a 502 (undici destroys
 * the connection on a 100). Interim 1xx responses are now discarded (RFC 9110 §15.2) and the
 * final response reaches the client whole: status, headers and body byte for byte. The client
 * only ever sees keygate's own `100 Continue`, when it asked for one.
 *
 * The upstream is a raw TCP server, since no HTTP server library sends these on demand.
 */

const FINAL_BODY = (path: string) => `final answer for ${path}`;

function final(path: string, body = FINAL_BODY(path)): string {
  return `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-final: yes\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const EARLY_HINTS = 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n';
const PROCESSING = 'HTTP/1.1 102 Processing\r\n\r\n';
/** A final body that contains what interim heads look like: it must pass untouched. */
const LOOKALIKE = `${CONTINUE}${EARLY_HINTS}HTTP/1.1 100 Continue\r\n`;

interface Seen {
  method: string;
  path: string;
  headers: string;
  body: Buffer;
}

interface InterimUpstream {
  url: string;
  seen: Seen[];
  connections: number;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the upstream writes once a request has fully arrived, by path (after the route prefix). */
async function answer(socket: Socket, path: string, req: Seen): Promise<void> {
  const name = path.replace(/^\/[^/]+/, '');
  switch (name) {
    case '/unsolicited': return void socket.write(CONTINUE + final(path));
    case '/twice': return void socket.write(CONTINUE + CONTINUE + final(path));
    case '/early-hints': return void socket.write(EARLY_HINTS + final(path));
    case '/processing': return void socket.write(PROCESSING + final(path));
    case '/all': return void socket.write(CONTINUE + EARLY_HINTS + PROCESSING + CONTINUE + final(path));
    case '/no-reason-phrase': return void socket.write('HTTP/1.1 100\r\n\r\n' + final(path));
    case '/lookalike-body': return void socket.write(CONTINUE + final(path, LOOKALIKE));
    case '/chunked': {
      const body = FINAL_BODY(path);
      return void socket.write(`${CONTINUE}HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
    }
    case '/split': {
      // The interim heads arrive a few bytes at a time, the final status line straight after them.
      const bytes = CONTINUE + EARLY_HINTS;
      for (let i = 0; i < bytes.length; i += 5) {
        socket.write(bytes.slice(i, i + 5));
        await sleep(2);
      }
      return void socket.write(final(path));
    }
    case '/head': return void socket.write(`${CONTINUE}HTTP/1.1 200 OK\r\ncontent-length: 42\r\nx-final: yes\r\n\r\n`);
    case '/upload': {
      // The 100 was sent when the head arrived (below); the final answer describes the body.
      const body = JSON.stringify({ bytes: req.body.length, sha256: createHash('sha256').update(req.body).digest('hex') });
      return void socket.write(`HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    }
    case '/switching': return void socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\nconnection: upgrade\r\n\r\n');
    case '/interim-then-close': {
      socket.write(CONTINUE);
      await sleep(20);
      return void socket.destroy();
    }
    default: return void socket.write(final(path));
  }
}

async function startInterimUpstream(): Promise<InterimUpstream> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  const server: Server = createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let headSeen = false;
    socket.on('data', (data: Buffer) => {
      buf = Buffer.concat([buf, data]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const [method = '', path = ''] = head.split(' ');
        // An upload gets its 100 Continue as soon as its head is in, while the body is still coming.
        if (!headSeen && path.endsWith('/upload')) socket.write(CONTINUE);
        headSeen = true;
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        const req: Seen = { method, path, headers: head, body: Buffer.from(buf.subarray(end + 4, end + 4 + length)) };
        seen.push(req);
        buf = buf.subarray(end + 4 + length);
        headSeen = false;
        void answer(socket, path, req);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    get connections() {
      return state.connections;
    },
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

const alice = newKey();
const AUTH = `Authorization: Bearer ${alice.secret}\r\n`;

let up: InterimUpstream; // well-behaved apart from its interim responses: one connection throughout
let rude: InterimUpstream; // answers that must still fail
let gw: TestGateway;

beforeAll(async () => {
  [up, rude] = await Promise.all([startInterimUpstream(), startInterimUpstream()]);
  gw = await startTestGateway(`
upstreams:
  up: { url: "${up.url}", timeout: 3s, connectTimeout: 1s, connections: 4 }
  rude: { url: "${rude.url}", timeout: 3s, connectTimeout: 1s, connections: 1 }
log: { level: silent }
roles: { editor: { actions: [application:view, application:edit] } }
routes:
  - { name: up, path: "/up/*", upstream: up, action: application:edit }
  - { name: rude, path: "/rude/*", upstream: rude, action: application:view }
principals:
  - { name: alice, kind: user, roles: [editor], keys: [{ id: alice-1, hash: "${alice.hash}" }] }
`);
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([up?.close(), rude?.close()]);
});

/** One request on a new client connection; everything the client received, parsed. */
async function get(path: string, method = 'GET') {
  const r = await rawRequest(gw.port, `${method} ${path} HTTP/1.1\r\nHost: t\r\n${AUTH}Connection: close\r\n\r\n`);
  return r;
}

describe('interim responses are discarded, the final one is forwarded whole', () => {
  it.each([
    ['an unsolicited 100 Continue', '/up/unsolicited'],
    ['two 100 Continue in a row', '/up/twice'],
    ['103 Early Hints with a Link header', '/up/early-hints'],
    ['102 Processing', '/up/processing'],
    ['100, 103, 102 and 100 again', '/up/all'],
    ['a 100 without a reason phrase', '/up/no-reason-phrase'],
    ['interim heads arriving a few bytes at a time', '/up/split'],
  ])('%s: the client gets the 200 with its headers and body, and no 1xx', async (_what, path) => {
    const r = await get(path);
    // Nothing before the final status line: no interim response reached the client.
    expect(r.text.startsWith('HTTP/1.1 200 OK\r\n'), r.text).toBe(true);
    expect(r.headers.get('x-final')).toEqual(['yes']);
    expect(r.headers.has('link'), 'an interim header leaked into the final response').toBe(false);
    expect(r.body).toBe(FINAL_BODY(path));
    expect(up.seen.at(-1)?.path).toBe(path);
  });

  it('a final body that contains interim-looking heads is forwarded byte for byte', async () => {
    const r = await get('/up/lookalike-body');
    expect(r.status).toBe(200);
    expect(r.body).toBe(LOOKALIKE);
  });

  it('a chunked final response after a 100', async () => {
    const res = await request(`${gw.url}/up/chunked`, { headers: { authorization: `Bearer ${alice.secret}` } });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe(FINAL_BODY('/up/chunked'));
  });

  it('an Expect: 100-continue upload answered by a 100 from the upstream mid-upload: one 100 (keygate\'s), then the final answer, body intact', async () => {
    const body = Buffer.alloc(256 * 1024, 'k');
    const sha = createHash('sha256').update(body).digest('hex');
    const c = await openRaw(gw.port);
    c.write(`POST /up/upload HTTP/1.1\r\nHost: t\r\n${AUTH}Content-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
    await c.waitFor((t) => t.startsWith(CONTINUE), 3000, "keygate's 100 Continue");
    // Half the body, a pause in which the upstream's own 100 arrives at keygate, then the rest.
    c.write(body.subarray(0, body.length / 2));
    await sleep(100);
    c.write(body.subarray(body.length / 2));
    const text = await c.waitFor((t) => hasCompleteResponse(t.slice(CONTINUE.length)), 5000, 'the final response');
    c.destroy();
    const rest = text.slice(CONTINUE.length);
    expect(rest.startsWith('HTTP/1.1 201 Created\r\n'), text).toBe(true);
    expect(JSON.parse(firstResponse(rest).body)).toEqual({ bytes: body.length, sha256: sha });
    const seen = up.seen.at(-1);
    expect(seen?.path).toBe('/up/upload');
    expect(seen?.body.equals(body)).toBe(true);
    // keygate handles the expectation itself: the upstream is never asked for a 100.
    expect(seen?.headers).not.toMatch(/\r\nexpect:/i);
  });

  it('the upstream connection stays in use after all of that: one connection for every request above', () => {
    expect(up.seen.length).toBe(10);
    expect(up.connections).toBe(1);
  });
  // Last: undici closes a connection after a HEAD (against servers that send a body anyway).
  it('HEAD: a 100, then the final head with no body', async () => {
    const c = await openRaw(gw.port);
    c.write(`HEAD /up/head HTTP/1.1\r\nHost: t\r\n${AUTH}\r\n`);
    const text = await c.waitFor((t) => t.includes('\r\n\r\n'), 3000, 'the HEAD response');
    c.destroy();
    expect(text.startsWith('HTTP/1.1 200 OK\r\n'), text).toBe(true);
    expect(firstResponse(text).headers.get('content-length')).toEqual(['42']);
  });
});

describe('what still fails', () => {
  it('101 Switching Protocols to a plain request is not an interim response: 502', async () => {
    const r = await get('/rude/switching');
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'upstream_unavailable' } });
  });

  it('a 100 and then a closed connection: 502, and not retried (the upstream had started answering)', async () => {
    expect((await get('/rude/warm')).status).toBe(200); // so the next request reuses a connection
    const before = rude.seen.length;
    const r = await get('/rude/interim-then-close');
    expect(r.status).toBe(502);
    expect(rude.seen.slice(before).map((s) => s.path)).toEqual(['/rude/interim-then-close']);
  });
});
