/**
 * Protocol-buffer wire format, just the parts the Check codec needs
 * (https://protobuf.dev/programming-guides/encoding/): varints, length-delimited fields, and
 * skipping anything else. proto-loader's generic path (decode, then toObject; fromObject, then
 * encode) cost about as much CPU per Check as routing and authorizing the request did.
 */

/** A malformed message (truncated, or a wire type protobuf no longer has). */
export class WireError extends Error {}

export class Reader {
  readonly buf: Buffer;
  readonly end: number;
  pos: number;
  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a JS number; beyond 2^53 it loses precision, which only an int64 `size` could hit. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new WireError('varint too long');
  }

  /** The [start, end) of a length-delimited field's payload; the reader moves past it. */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw new WireError('truncated field');
    this.pos = end;
    return [start, end];
  }

  string(): string {
    const [s, e] = this.span();
    return this.buf.toString('utf8', s, e);
  }

  bytes(): Buffer {
    const [s, e] = this.span();
    return this.buf.subarray(s, e);
  }

  /** An int64 as its decimal string, as proto-loader gives longs (`longs: String`); -1 is ten bytes. */
  int64(): string {
    let v = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = this.buf[this.pos++] as number;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, v).toString();
      shift += 7n;
    }
    throw new WireError('varint too long');
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0: this.varint(); return;
      case 1: this.pos += 8; break;
      case 2: this.span(); return;
      case 5: this.pos += 4; break;
      default: throw new WireError(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new WireError('truncated fixed field');
  }
}

/** Appends encoded fields to a growing list of chunks; `finish` concatenates once. */
export class Writer {
  private parts: Buffer[] = [];
  private size = 0;

  private push(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
  }

  private static varintBytes(n: number): Buffer {
    const out: number[] = [];
    let v = n;
    while (v >= 0x80) {
      out.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return Buffer.from(out);
  }

  private tag(field: number, wireType: number): void {
    this.push(Writer.varintBytes(field * 8 + wireType));
  }

  /** Non-negative integers only (enum values, status codes, bools). */
  uint(field: number, n: number): this {
    this.tag(field, 0);
    this.push(Writer.varintBytes(n));
    return this;
  }

  string(field: number, s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.tag(field, 2);
    this.push(Writer.varintBytes(b.length));
    this.push(b);
    return this;
  }

  message(field: number, inner: Writer): this {
    const b = inner.finish();
    this.tag(field, 2);
    this.push(Writer.varintBytes(b.length));
    this.push(b);
    return this;
  }

  finish(): Buffer {
    return this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
  }
}
