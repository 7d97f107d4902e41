import { connect } from 'node:net';

/**
 * Sends raw bytes on a fresh TCP connection and collects everything the server writes until it
 * closes the connection or `waitMs` passes. For framing and smuggling tests that no HTTP client
 * would let us write.
 */
export function rawExchange(port: number, payload: string | Buffer, waitMs = 1000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    }, waitMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'ECONNRESET') reject(e); });
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    });
    socket.write(payload);
  });
}

/** Status codes of every HTTP response in a raw response stream. */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
}
