import { connect, type Socket } from 'node:net';
import { once } from 'node:events';

/** A promise with its resolve function outside, for handshakes between a client and an upstream. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  settled(): boolean;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let done = false;
  const promise = new Promise<T>((r) => (resolve = r));
  return {
    promise,
    resolve: (v) => {
      done = true;
      resolve(v);
    },
    settled: () => done,
  };
}

/** Resolves with the promise's value, or with `fallback` after `ms` (never rejects on time). */
export function within<T, F>(p: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<F>((r) => (timer = setTimeout(r, ms, fallback)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Waits until `cond()` holds, polling every 10 ms; false if `ms` passes first. */
export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/**
 * A raw TCP client connection that keeps everything the peer sent, for tests that need to write
 * in several steps (slow clients, upgrades) and to wait for a given response or for the close.
 */
export interface RawConnection {
  socket: Socket;
  /** Everything received so far, latin1. */
  text(): string;
  bytes(): Buffer;
  isClosed(): boolean;
  /** Resolves when the peer closed (or the socket errored); false if `ms` passes first. */
  closed(ms: number): Promise<boolean>;
  /** Resolves with the text once `pred` holds; rejects with what was received after `ms`. */
  waitFor(pred: (text: string) => boolean, ms: number, what?: string): Promise<string>;
  write(data: string | Buffer): void;
  destroy(): void;
}

export async function openRaw(port: number): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const chunks: Buffer[] = [];
  let closed = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    notify();
  });
  socket.on('error', () => { /* resets count as a close */ });
  socket.on('close', () => {
    closed = true;
    notify();
  });
  await once(socket, 'connect');
  const bytes = () => Buffer.concat(chunks);
  const text = () => bytes().toString('latin1');
  return {
    socket,
    text,
    bytes,
    isClosed: () => closed,
    closed(ms) {
      return new Promise((resolve) => {
        if (closed) return resolve(true);
        const timer = setTimeout(() => { listeners.delete(check); resolve(false); }, ms);
        const check = () => {
          if (!closed) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(true);
        };
        listeners.add(check);
      });
    },
    waitFor(pred, ms, what = 'the expected data') {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out after ${ms} ms waiting for ${what}; received so far (closed=${closed}): ${JSON.stringify(text().slice(0, 2000))}`));
        }, ms);
        const check = () => {
          const t = text();
          if (pred(t)) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve(t);
          } else if (closed) {
            clearTimeout(timer);
            listeners.delete(check);
            reject(new Error(`connection closed before ${what}; received: ${JSON.stringify(t.slice(0, 2000))}`));
          }
        };
        listeners.add(check);
        check();
      });
    },
    write(data) {
      if (!socket.destroyed && socket.writable) socket.write(data);
    },
    destroy: () => socket.destroy(),
  };
}

/** The head and JSON body of the first HTTP response in a raw response stream. */
export function firstResponse(text: string): { status: number; headers: Map<string, string[]>; body: string } {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`no complete response head in ${JSON.stringify(text.slice(0, 500))}`);
  const lines = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? NaN);
  const headers = new Map<string, string[]>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    const k = l.slice(0, i).trim().toLowerCase();
    headers.set(k, [...(headers.get(k) ?? []), l.slice(i + 1).trim()]);
  }
  const len = Number(headers.get('content-length')?.[0] ?? NaN);
  const rest = text.slice(end + 4);
  return { status, headers, body: Number.isFinite(len) ? rest.slice(0, len) : rest };
}

/** Is there one complete response (head plus its Content-Length body) at the start of `text`? */
export function hasCompleteResponse(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return false;
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
  return m === null ? true : text.length - (end + 4) >= Number(m[1]);
}

/** Sends one raw request on a fresh connection and returns its first complete response (then closes). */
export async function rawRequest(port: number, payload: string | Buffer, ms = 5000): Promise<ReturnType<typeof firstResponse> & { text: string }> {
  const c = await openRaw(port);
  try {
    c.write(payload);
    const text = await c.waitFor(hasCompleteResponse, ms, 'a complete response');
    return { ...firstResponse(text), text };
  } finally {
    c.destroy();
  }
}
