import { Readable } from 'node:stream';
import { request } from 'undici';

const CHUNK = Buffer.alloc(256 * 1024, 'y'); // reused, never mutated

/** The upload body, generated on the fly: nothing of this size ever exists in memory. */
async function* generated(bytes: number): AsyncGenerator<Buffer> {
  for (let left = bytes; left > 0; left -= CHUNK.length) yield left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
}

export interface TransferResult {
  bytes: number;
  seconds: number;
  mibPerSec: number;
  verified: boolean;
  detail: string;
}

/**
 * One streamed transfer through a proxy: upload (POST, chunked, the upstream counts what it got)
 * or download (the upstream generates `bytes`, this side counts them). Byte counts are verified.
 */
export async function transfer(origin: string, secret: string, direction: 'upload' | 'download', bytes: number): Promise<TransferResult> {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(origin)) throw new Error(`refusing a non-loopback target: ${origin}`);
  const headers = { authorization: `Bearer ${secret}` };
  const t0 = performance.now();
  let got: number;
  let status: number;
  if (direction === 'upload') {
    const r = await request(`${origin}/api/applications/42/upload`, {
      method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: Readable.from(generated(bytes)),
      headersTimeout: 300_000, bodyTimeout: 300_000,
    });
    status = r.statusCode;
    const text = await r.body.text();
    got = status === 200 ? (JSON.parse(text) as { bytes: number }).bytes : -1;
  } else {
    const r = await request(`${origin}/api/applications/42/blob/${bytes}`, { headers, headersTimeout: 300_000, bodyTimeout: 300_000 });
    status = r.statusCode;
    got = 0;
    for await (const c of r.body) got += (c as Buffer).length;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { bytes: got, seconds, mibPerSec: got / 2 ** 20 / seconds, verified: status === 200 && got === bytes, detail: `status ${status}, ${got} of ${bytes} bytes` };
}
