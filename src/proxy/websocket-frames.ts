import { randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * One direction of a proxied WebSocket, passed through byte for byte while tracking where each
 * frame ends (RFC 6455 §5.2), so that keygate can end the session with a Close frame of its own
 * without cutting a frame in two. Nothing is buffered or parsed beyond the frame headers.
 */
export class FrameGate extends Transform {
  /** Header bytes of the current frame seen so far (a header may span chunks). */
  #hdr: Buffer = Buffer.alloc(0);
  /** Payload bytes of the current frame still to pass. */
  #remaining = 0;
  /** The Close frame to send at the next frame boundary. */
  #close: Buffer | null = null;
  #done = false;
  #onCut: (() => void) | undefined;

  /**
   * Sends `frame` as soon as the frame in flight has passed, then ends this direction;
   * `then` runs once the frame is sent.
   */
  cut(frame: Buffer, then?: () => void): void {
    if (this.#done || this.#close !== null) return;
    this.#close = frame;
    this.#onCut = then;
    if (this.#atBoundary()) this.#finish();
  }

  #atBoundary(): boolean {
    return this.#remaining === 0 && this.#hdr.length === 0;
  }

  #finish(): void {
    this.#done = true;
    if (this.#close !== null) this.push(this.#close);
    this.push(null);
    this.#onCut?.();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.#done) {
      cb(); // after our Close, the rest of this direction is dropped
      return;
    }
    let i = 0;
    while (i < chunk.length) {
      if (this.#close !== null && this.#atBoundary()) {
        this.push(chunk.subarray(0, i));
        this.#finish();
        cb();
        return;
      }
      if (this.#remaining > 0) {
        const n = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= n;
        i += n;
        continue;
      }
      const had = this.#hdr.length;
      const take = Math.min(14 - had, chunk.length - i);
      const h = had === 0 ? chunk.subarray(i, i + take) : Buffer.concat([this.#hdr, chunk.subarray(i, i + take)]);
      const size = headerSize(h);
      if (size < 0 || h.length < size) {
        this.#hdr = Buffer.from(h);
        i += take;
        continue;
      }
      this.#remaining = payloadLength(h);
      this.#hdr = Buffer.alloc(0);
      i += size - had;
    }
    this.push(chunk);
    if (this.#close !== null && this.#atBoundary()) this.#finish();
    cb();
  }
}

/** Bytes of a frame header, once its first two bytes are known; -1 before. */
function headerSize(h: Buffer): number {
  if (h.length < 2) return -1;
  const len7 = (h[1] as number) & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((h[1] as number) & 0x80 ? 4 : 0);
}

function payloadLength(h: Buffer): number {
  const len7 = (h[1] as number) & 0x7f;
  if (len7 === 126) return h.readUInt16BE(2);
  if (len7 === 127) return Number(h.readBigUInt64BE(2));
  return len7;
}

/**
 * A Close frame (RFC 6455 §5.5.1) with a status code and a short reason. Frames a client sends
 * must be masked (§5.3), frames a server sends must not: `masked` for the one keygate sends
 * upstream in the client's place.
 */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  const text = Buffer.from(reason, 'utf8').subarray(0, 123);
  const payload = Buffer.alloc(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  if (!masked) return Buffer.concat([Buffer.from([0x88, payload.length]), payload]);
  const mask = randomBytes(4);
  for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i % 4] as number);
  return Buffer.concat([Buffer.from([0x88, 0x80 | payload.length]), mask, payload]);
}
