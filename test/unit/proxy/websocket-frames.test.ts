import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { closeFrame, FrameGate } from '../../../src/proxy/websocket-frames.ts';
import { serverFrame } from '../../helpers/ws-upstream.ts';

/** Runs `chunks` through a gate, cutting after chunk `cutAfter`; returns everything it emitted. */
async function through(chunks: Buffer[], cutAfter: number, close: Buffer): Promise<Buffer> {
  const gate = new FrameGate();
  const out: Buffer[] = [];
  gate.on('data', (d: Buffer) => out.push(d));
  const ended = new Promise((r) => gate.on('end', r));
  chunks.forEach((c, i) => {
    gate.write(c);
    if (i === cutAfter) gate.cut(close);
  });
  if (cutAfter >= chunks.length) gate.cut(close);
  gate.end();
  await ended;
  return Buffer.concat(out);
}

/** Splits `buf` at the given (sorted, deduplicated) offsets. */
function split(buf: Buffer, at: number[]): Buffer[] {
  const cuts = [...new Set(at.map((a) => a % (buf.length + 1)))].sort((x, y) => x - y);
  const parts: Buffer[] = [];
  let last = 0;
  for (const c of cuts) { parts.push(buf.subarray(last, c)); last = c; }
  parts.push(buf.subarray(last));
  return parts.filter((p) => p.length > 0);
}

describe('FrameGate', () => {
  it('passes bytes through untouched and ends on a frame boundary with the Close appended', async () => {
    const sizes = fc.array(fc.oneof(fc.integer({ min: 0, max: 125 }), fc.integer({ min: 126, max: 70_000 })), { minLength: 1, maxLength: 6 });
    await fc.assert(fc.asyncProperty(sizes, fc.array(fc.nat(), { maxLength: 8 }), fc.nat(), async (lens, at, cutSeed) => {
      const frames = lens.map((n, i) => serverFrame(0x2, Buffer.alloc(n, i)));
      const stream = Buffer.concat(frames);
      const chunks = split(stream, at);
      const cutAfter = cutSeed % (chunks.length + 1);
      const close = closeFrame(1008, 'key_revoked', false);
      const out = await through(chunks, cutAfter, close);
      // What passed is whole frames, then our Close, and nothing after it.
      expect(out.subarray(out.length - close.length).equals(close)).toBe(true);
      const passed = out.subarray(0, out.length - close.length);
      expect(stream.subarray(0, passed.length).equals(passed)).toBe(true);
      const boundaries = new Set([0]);
      let end = 0;
      for (const f of frames) boundaries.add((end += f.length));
      expect(boundaries.has(passed.length)).toBe(true);
      // At least everything written before the cut got through (up to the end of its frame).
      const writtenBeforeCut = Buffer.concat(chunks.slice(0, cutAfter + 1)).length;
      expect(passed.length).toBeGreaterThanOrEqual(Math.min(writtenBeforeCut, stream.length));
    }), { numRuns: 200 });
  });

  it('masks the Close it sends in a client\'s place (RFC 6455 §5.3)', () => {
    const f = closeFrame(1008, 'principal_disabled', true);
    expect(f[0]).toBe(0x88);
    expect((f[1] as number) & 0x80).toBe(0x80);
    const mask = f.subarray(2, 6);
    const payload = Buffer.from(f.subarray(6).map((b, i) => b ^ (mask[i % 4] as number)));
    expect(payload.readUInt16BE(0)).toBe(1008);
    expect(payload.subarray(2).toString()).toBe('principal_disabled');
  });
});
