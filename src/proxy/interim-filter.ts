/**
 * Drops interim (1xx) responses from the start of an upstream response byte stream, so the HTTP
 * parser only ever sees the final response. RFC 9110 §15.2: a client must be able to parse one
 * or more 1xx responses before the final one, even unexpected ones. undici (8.x, both its llhttp
 * and milo parsers) destroys the connection on any `100 Continue` ("bad response", although its
 * docs say the 100 "will be ignored"), which made every such exchange a 502.
 *
 * The filter only acts where a response must begin: at the start of the byte stream after a
 * request was written (see upstream-socket.ts). There, one or more complete 1xx heads — other
 * than 101, which undici must see — are removed; the first other status line switches the filter
 * to pass-through until the next request. Nothing inside a final response is ever looked at, so
 * a body that happens to contain `HTTP/1.1 100` is forwarded byte for byte.
 */

/** An interim head larger than this is left to undici's parser, which refuses it (as it would any header section that size). */
export const MAX_INTERIM_HEAD = 16 * 1024;

const PREFIX = Buffer.from('HTTP/1.');
/** `HTTP/1.x 1dd` and the SP (or CR, for a status line without a reason phrase) after it. */
const STATUS_END = 13;
const CR = 0x0d;
const LF = 0x0a;

type Verdict = { kind: 'more' } | { kind: 'final' } | { kind: 'interim'; end: number };

/** What the bytes at the start of a response are. */
function classify(buf: Buffer): Verdict {
  const known = Math.min(buf.length, STATUS_END);
  for (let i = 0; i < known; i++) {
    const b = buf[i] as number;
    const ok = i < 7 ? b === PREFIX[i]
      : i === 7 ? b === 0x30 || b === 0x31 // 0 or 1
      : i === 8 ? b === 0x20
      : i === 9 ? b === 0x31 // status 1xx
      : i < 12 ? b >= 0x30 && b <= 0x39
      : b === 0x20 || b === CR;
    // Anything not shaped like a 1xx status line is the final response (or garbage): undici judges it.
    if (!ok) return { kind: 'final' };
  }
  if (buf.length < STATUS_END) return { kind: 'more' };
  // 101 is an upgrade's final answer, never interim; undici must see (and refuse) it.
  if (buf[10] === 0x30 && buf[11] === 0x31) return { kind: 'final' };
  // The head ends at the first CRLF CRLF. A bare LF is a framing undici's parser may read
  // differently, so such a head is not ours to skip: undici gets it as is.
  const limit = Math.min(buf.length, MAX_INTERIM_HEAD);
  for (let i = STATUS_END; i < limit; i++) {
    if (buf[i] !== LF) continue;
    if (buf[i - 1] !== CR) return { kind: 'final' };
    if (buf[i - 2] === LF && buf[i - 3] === CR) return { kind: 'interim', end: i + 1 };
  }
  return buf.length >= MAX_INTERIM_HEAD ? { kind: 'final' } : { kind: 'more' };
}

export class InterimFilter {
  /** Interim responses dropped on this connection so far. */
  dropped = 0;
  private passing = false;
  private held: Buffer | null = null;

  /** A new request was written: the next byte read starts its response. */
  reset(): void {
    this.passing = false;
    this.held = null;
  }

  /** Bytes for the parser, or null when everything so far was (part of) an interim head. */
  push(chunk: Buffer): Buffer | null {
    if (this.passing) return chunk;
    let buf = this.held === null ? chunk : Buffer.concat([this.held, chunk]);
    this.held = null;
    for (;;) {
      const v = classify(buf);
      if (v.kind === 'final') {
        this.passing = true;
        return buf;
      }
      if (v.kind === 'more') {
        this.held = buf;
        return null;
      }
      this.dropped++;
      buf = buf.subarray(v.end);
      if (buf.length === 0) return null;
    }
  }
}
