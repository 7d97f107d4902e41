import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';

/**
 * Lines are collected up to this many bytes before one write(2). The profile of issue 12 put
 * the access log's asynchronous 1 KB writes (one libuv thread-pool round trip each) at 3.6 µs a
 * request; one synchronous write of 64 KiB every few hundred lines costs a fraction of that and
 * keeps lines in order with nothing in flight when the process exits.
 */
export const BATCH_BYTES = 64 * 1024;
/** Longest a line waits in the batch when traffic is light. */
export const FLUSH_EVERY_MS = 100;
/**
 * A consumer that stops reading (a full, non-blocking pipe) is waited out in memory up to this
 * much; past it, writes block until it reads again: a stuck log reader slows the gateway
 * rather than losing lines or growing the heap without bound.
 */
export const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** At exit, how long to wait for a stuck consumer before giving up on what is left. */
const EXIT_DRAIN_MS = 5_000;
const RETRY_MS = 5;
/**
 * POSIX PIPE_BUF on Linux: a write(2) of at most this many bytes to a pipe is atomic — it lands
 * whole or (non-blocking, pipe full) not at all, never mixed with another process's bytes.
 */
export const PIPE_BUF = 4096;

const sleep = new Int32Array(new SharedArrayBuffer(4));

/**
 * The process's log destination: a batch buffer in front of a file descriptor, written with
 * write(2) on the main thread when the batch is full, every {@link FLUSH_EVERY_MS}, on `flush()`
 * and at process exit. Both pino's lines and the access log's prebuilt lines go through
 * `write`, so whole lines land in order and never interleave.
 *
 * What is lost: on SIGKILL (or an abort) the lines of the last {@link FLUSH_EVERY_MS} that are
 * still in the batch. Errors and worse are flushed at once (see logger.ts).
 */
export class LogSink {
  private readonly fd: number;
  private readonly ownsFd: boolean;
  private buf: Buffer = Buffer.allocUnsafe(BATCH_BYTES);
  private len = 0;
  /** Bytes the consumer has not taken yet (EAGAIN), oldest first; written before anything newer. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private failed = false;
  private closed = false;
  /** Largest write(2), cut at a line end; 0 for no cap. */
  private readonly maxWrite: number;

  /**
   * `shared`: other processes write to the same pipe (`server.workers` > 1). Each write(2) then
   * carries whole lines and at most {@link PIPE_BUF} bytes, so two workers' batches can never
   * interleave inside a line; only a single line longer than that is written alone, unprotected.
   * A regular file needs no cut: Linux serializes writes through one open file (f_pos lock), and
   * the cut costs ≈ 0.4 µs a line on a pipe (bench/micro/log-shared.ts).
   */
  constructor(dest: number | string, opts: { shared?: boolean } = {}) {
    this.ownsFd = typeof dest === 'string';
    this.fd = typeof dest === 'string' ? openSync(dest, 'a') : dest;
    this.maxWrite = opts.shared === true && !isRegularFile(this.fd) ? PIPE_BUF : 0;
    if (live.size >= 64) for (const ref of live) if (ref.deref() === undefined) live.delete(ref);
    live.add(new WeakRef(this));
  }

  /** Appends one or more whole lines (pino's stream contract). */
  write(s: string): boolean {
    if (this.closed) return false;
    // A UTF-16 unit is at most 3 UTF-8 bytes: the common case needs no byteLength pass.
    if (s.length * 3 > BATCH_BYTES - this.len) {
      const bytes = Buffer.byteLength(s);
      if (bytes > BATCH_BYTES - this.len) {
        this.flushBatch();
        if (bytes > BATCH_BYTES) {
          this.out(Buffer.from(s));
          return true;
        }
      }
    }
    this.len += this.buf.write(s, this.len);
    if (this.timer === null) this.timer = setTimeout(onTimer, FLUSH_EVERY_MS, this).unref();
    return true;
  }

  /** Writes the batch now (pino's `logger.flush(cb)` lands here), then calls back. */
  flush(cb?: (err?: Error) => void): void {
    this.flushSync();
    if (cb !== undefined) process.nextTick(cb);
  }

  /** Writes the batch and everything pending, waiting for a stuck consumer for a bounded time. */
  flushSync(deadlineMs = EXIT_DRAIN_MS): void {
    this.flushBatch();
    const until = Date.now() + deadlineMs;
    while (this.pendingBytes > 0 && !this.failed) {
      if (this.drainPending()) break;
      if (Date.now() > until) break;
      Atomics.wait(sleep, 0, 0, 1);
    }
  }

  close(): void {
    if (this.closed) return;
    this.flushSync();
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.ownsFd) closeSync(this.fd);
  }

  /** @internal the timer's callback. */
  tick(): void {
    this.timer = null;
    this.flushBatch();
    if (this.pendingBytes > 0) this.drainPending();
  }

  private flushBatch(): void {
    if (this.len === 0) return;
    const full = this.buf.subarray(0, this.len);
    if (this.pendingBytes > 0) {
      // Older bytes are still waiting: this batch queues behind them (it keeps its buffer).
      this.queue(full);
      this.buf = Buffer.allocUnsafe(BATCH_BYTES);
    } else {
      const n = this.writeSome(full);
      if (n < full.length) {
        this.queue(Buffer.from(full.subarray(n)));
      }
    }
    this.len = 0;
    if (this.pendingBytes > MAX_PENDING_BYTES) {
      while (this.pendingBytes > 0 && !this.failed && !this.drainPending()) Atomics.wait(sleep, 0, 0, 1);
    }
  }

  /** A line bigger than a batch: behind what is buffered, in one write. */
  private out(b: Buffer): void {
    if (this.pendingBytes > 0) {
      this.queue(b);
      return;
    }
    const n = this.writeSome(b);
    if (n < b.length) this.queue(b.subarray(n));
  }

  private queue(b: Buffer): void {
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.timer === null) this.timer = setTimeout(onTimer, RETRY_MS, this).unref();
  }

  /** Writes pending bytes until done (true) or the consumer is full again (false). */
  private drainPending(): boolean {
    while (this.pending.length > 0) {
      const b = this.pending[0] as Buffer;
      const n = this.writeSome(b);
      this.pendingBytes -= n;
      if (n < b.length) {
        this.pending[0] = b.subarray(n);
        if (!this.failed) {
          if (this.timer === null) this.timer = setTimeout(onTimer, RETRY_MS, this).unref();
          return false;
        }
      }
      this.pending.shift();
    }
    return true;
  }

  /** write(2) until the bytes are out or the fd would block; a broken destination drops them. */
  private writeSome(b: Buffer): number {
    if (this.failed) return b.length;
    let off = 0;
    while (off < b.length) {
      const end = this.maxWrite === 0 ? b.length : lineCut(b, off, this.maxWrite);
      try {
        off += writeSync(this.fd, b, off, end - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') return off;
        if (code === 'EINTR') continue;
        // EPIPE, EBADF, ENOSPC…: there is nowhere to put lines. Say so once, on stderr.
        this.failed = true;
        try {
          writeSync(2, `keygate: log destination failed (${code ?? String(e)}); dropping log lines\n`);
        } catch {
          /* stderr is gone too */
        }
        return b.length;
      }
    }
    return off;
  }
}

/**
 * Where a write starting at `off` should end: after the last line end within `max` bytes, or —
 * when one line is longer than that — after that line (or at the end of what is there: a
 * partial write's remainder starts mid-line and must finish its line first).
 */
export function lineCut(b: Buffer, off: number, max: number): number {
  if (b.length - off <= max) return b.length;
  const last = b.lastIndexOf(10, off + max - 1);
  if (last >= off) return last + 1;
  const next = b.indexOf(10, off + max);
  return next === -1 ? b.length : next + 1;
}

function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

function onTimer(sink: LogSink): void {
  sink.tick();
}

/** Every sink still reachable, flushed when the process exits (process.exit, end of the loop). */
const live = new Set<WeakRef<LogSink>>();
process.on('exit', () => {
  for (const ref of live) {
    const sink = ref.deref();
    if (sink === undefined) live.delete(ref);
    else sink.flushSync();
  }
});
