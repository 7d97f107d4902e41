import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { firstResponse, openRaw } from './sockets.ts';

/** A WebSocket handshake as the upstream received it. */
export interface Handshake {
  url: string;
  rawHeaders: string[];
  /** Lower-cased name → all values. */
  headers: Map<string, string[]>;
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * Makes a test upstream accept WebSocket handshakes (101, RFC 6455 §4.2.2) and record them.
 * `close()` destroys the upgraded sockets, which the HTTP server no longer tracks.
 */
export function acceptUpgrades(server: Server): { handshakes: Handshake[]; close(): void } {
  const handshakes: Handshake[] = [];
  const sockets: Socket[] = [];
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    const headers = new Map<string, string[]>();
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const k = (req.rawHeaders[i] as string).toLowerCase();
      headers.set(k, [...(headers.get(k) ?? []), req.rawHeaders[i + 1] as string]);
    }
    handshakes.push({ url: req.url ?? '', rawHeaders: req.rawHeaders, headers });
    sockets.push(socket);
    socket.on('error', () => socket.destroy());
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key'] ?? ''}${WS_GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  });
  return { handshakes, close: () => {
    for (const s of sockets) s.destroy();
  } };
}

/**
 * Sends a raw WebSocket handshake with extra header lines (written byte for byte: node's
 * client would normalize names) and resolves with the status keygate answered.
 */
export async function wsHandshake(port: number, path: string, extra: string[], host = 'ws.example.test'): Promise<number> {
  const c = await openRaw(port);
  try {
    c.write([
      `GET ${path} HTTP/1.1`, `Host: ${host}`, 'Upgrade: websocket', 'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', ...extra, '', '',
    ].join('\r\n'));
    const text = await c.waitFor((t) => t.includes('\r\n\r\n'), 5000, 'the handshake response');
    return firstResponse(text).status;
  } finally {
    c.destroy();
  }
}
