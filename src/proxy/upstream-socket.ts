import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { buildConnector } from 'undici';
import { InterimFilter } from './interim-filter.ts';

/**
 * What one upstream connection knew when it failed, for the retry decision (retry.ts): whether
 * it had carried a request before (a pooled keep-alive connection being reused) and how many
 * bytes of the current request's response had arrived.
 */
export interface ConnectionFacts {
  reused: boolean;
  responseBytes: number;
}

const kFacts = Symbol('keygate.connectionFacts');
const kTracker = Symbol('keygate.socketTracker');

/** Per connection: requests written, response bytes since the last one, the interim filter. */
class SocketTracker {
  requests = 0;
  responseBytes = 0;
  readonly interim = new InterimFilter();

  requestStarted(): void {
    this.requests++;
    this.responseBytes = 0;
    this.interim.reset();
  }
}

type Tracked = Socket & { [kTracker]?: SocketTracker };

/**
 * undici publishes `undici:client:sendHeaders` (a documented diagnostics channel) synchronously,
 * right before the first byte of a request is written, with the socket. That is the one moment
 * a new response's start is known on a keep-alive connection. Sockets this module did not
 * connect carry no tracker and are left alone.
 */
let subscribed = false;
function watchRequestStarts(): void {
  if (subscribed) return;
  subscribed = true;
  subscribe('undici:client:sendHeaders', (message) => {
    (message as { socket?: Tracked }).socket?.[kTracker]?.requestStarted();
  });
}

/** The facts recorded on an error emitted by a connection from `upstreamConnector`, if any. */
export function connectionFacts(err: unknown): ConnectionFacts | undefined {
  return (err as { [kFacts]?: ConnectionFacts } | null)?.[kFacts];
}

/**
 * undici's own connector (TCP or TLS, with the connect timeout), plus, on every socket:
 * - interim 1xx responses removed before undici's parser reads them (interim-filter.ts);
 * - its errors tagged with `ConnectionFacts`, so the forwarder can tell a stale keep-alive
 *   connection closed under a request apart from an upstream that answered and then failed.
 * Errors reach the request handler as the same object the socket emitted, so the tag travels.
 */
export function upstreamConnector(connectTimeoutMs: number): buildConnector.connector {
  watchRequestStarts();
  const connect = buildConnector({ timeout: connectTimeoutMs });
  return function keygateConnect(options, callback) {
    connect(options, (err, socket) => {
      if (err !== null || socket === null) return callback(err as Error, null);
      track(socket);
      callback(null, socket);
    });
  };
}

function track(socket: Tracked): void {
  const tracker = new SocketTracker();
  socket[kTracker] = tracker;
  // Registered before undici's own listener, so the tag is on the error before undici routes it.
  socket.on('error', (err: Error) => {
    if (Object.hasOwn(err, kFacts)) return;
    Object.defineProperty(err, kFacts, { value: { reused: tracker.requests > 1, responseBytes: tracker.responseBytes } satisfies ConnectionFacts });
  });
  // undici reads in paused mode with read(); node's stream internals call read(0), which never
  // returns data, so only the argument-less call is filtered.
  const read = socket.read.bind(socket);
  socket.read = function readFinalResponses(size?: number) {
    if (size !== undefined) return read(size);
    for (;;) {
      const chunk = read() as Buffer | null;
      if (chunk === null) return null;
      tracker.responseBytes += chunk.length;
      const out = tracker.interim.push(chunk);
      if (out !== null) return out;
    }
  };
}
