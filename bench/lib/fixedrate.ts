import { connect, type Socket } from 'node:net';

export interface RateResult {
  sent: number;
  ok: number;
  errors: number;
  achievedRps: number;
  p50ms: number;
  p99ms: number;
}

interface Conn { sock: Socket; inflight: boolean; dead: boolean; buf: Buffer; t0: number }

/**
 * An open-loop (fixed-rate) load generator in the spirit of wrk2: requests become due at a fixed
 * rate whatever the answers do, so a slow system cannot slow the load down. Raw sockets with
 * prebuilt request bytes: an undici client cost ~0.4 ms CPU per request on the 2-core bench VM,
 * enough to distort its own timings at a few thousand req/s.
 *
 * Latency runs from the 1 ms tick at which a request became due to its last response byte: time
 * spent waiting for a free connection (the system falling behind) counts, timer granularity does
 * not. The first `warmSeconds` are sent but not recorded (connection setup, JIT on both sides).
 */
export async function fixedRate(opts: { origin: string; path: string; secrets: string[]; rate: number; seconds: number; connections: number; warmSeconds?: number }): Promise<RateResult> {
  const m = /^http:\/\/127\.0\.0\.1:(\d+)$/.exec(opts.origin);
  if (m === null) throw new Error(`refusing a non-loopback target: ${opts.origin}`);
  const port = Number(m[1]);
  const reqs = opts.secrets.map((s) => Buffer.from(`GET ${opts.path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${s}\r\n\r\n`));
  const warm = Math.round(opts.rate * (opts.warmSeconds ?? 1));
  const total = warm + Math.round(opts.rate * opts.seconds);
  const lat: number[] = [];
  const queue: number[] = []; // due times of requests waiting for a free connection
  let sent = 0;
  let done = 0;
  let errors = 0;
  let finish = () => {};
  const finished = new Promise<void>((r) => { finish = r; });

  const open = () => new Promise<Conn>((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => resolve(c));
    const c: Conn = { sock, inflight: false, dead: false, buf: Buffer.alloc(0), t0: 0 };
    sock.setNoDelay(true);
    sock.once('error', reject);
    sock.on('error', () => { /* 'close' follows */ });
    sock.on('data', (d: Buffer) => onData(c, d));
    // A server may close a keep-alive connection (a request limit): replace it, as wrk does.
    sock.on('close', () => {
      c.dead = true;
      if (c.inflight) complete(c, false);
      if (done < total) open().then((n) => { conns[conns.indexOf(c)] = n; drain(n); }, () => {});
    });
  });
  const conns: Conn[] = await Promise.all(Array.from({ length: opts.connections }, open));

  function send(c: Conn, t0: number): void {
    c.inflight = true;
    c.t0 = t0;
    c.sock.write(reqs[sent % reqs.length] as Buffer);
    sent++;
  }

  function complete(c: Conn, ok: boolean): void {
    const n = done++;
    if (!ok) errors++;
    else if (n >= warm) lat.push(performance.now() - c.t0);
    c.inflight = false;
    c.buf = Buffer.alloc(0);
    drain(c);
    if (done === total) finish();
  }

  /** Gives a free connection the oldest queued request. */
  function drain(c: Conn): void {
    if (c.inflight || c.dead) return;
    const next = queue.shift();
    if (next !== undefined) send(c, next);
  }

  /** Just enough HTTP/1.1 to find where a response ends: content-length, or a chunked body's last chunk. */
  function onData(c: Conn, d: Buffer): void {
    if (!c.inflight) return;
    c.buf = c.buf.length === 0 ? d : Buffer.concat([c.buf, d]);
    const end = c.buf.indexOf('\r\n\r\n');
    if (end === -1) return;
    const head = c.buf.subarray(0, end).toString('latin1');
    const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const complete_ = len !== null ? c.buf.length >= end + 4 + Number(len[1]) : c.buf.indexOf('\r\n0\r\n\r\n', end) !== -1;
    if (!complete_) return;
    // Answered with "Connection: close": the socket is about to go; don't send on it again.
    if (/\r\nconnection:\s*close/i.test(head)) { c.dead = true; c.sock.end(); }
    complete(c, head.startsWith('HTTP/1.1 200'));
  }

  /**
   * Round-robin over free connections, so none sits idle long enough for the server's keep-alive
   * timeout (Node: 5 s) to close it just as a request is written to it.
   */
  let rr = 0;
  function nextFree(): Conn | undefined {
    for (let k = 0; k < conns.length; k++) {
      const c = conns[(rr + k) % conns.length] as Conn;
      if (!c.inflight && !c.dead) { rr = (rr + k + 1) % conns.length; return c; }
    }
    return undefined;
  }

  const interval = 1000 / opts.rate;
  const start = performance.now();
  let issued = 0;
  const tick = () => {
    const now = performance.now();
    const due = Math.min(total, Math.floor((now - start) / interval) + 1);
    for (; issued < due; issued++) {
      const idle = nextFree();
      if (idle !== undefined) send(idle, now);
      else queue.push(now);
    }
    if (issued < total) setTimeout(tick, 1);
  };
  tick();
  // Bounded: whatever is still outstanding 10 s after the last request was due counts as an error.
  const guard = setTimeout(() => { errors += total - done; finish(); }, (total / opts.rate) * 1000 + 10_000);
  await finished;
  clearTimeout(guard);
  const elapsed = (performance.now() - start) / 1000;
  for (const c of conns) c.sock.destroy();
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? NaN;
  return { sent, ok: lat.length, errors, achievedRps: sent / elapsed, p50ms: q(0.5), p99ms: q(0.99) };
}
