import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface UpstreamSession {
  url: string;
  headers: IncomingMessage['headers'];
  /** Text messages received (unmasked), in order. */
  messages: string[];
  /** The Close frame's status code and reason when one arrived, else null. */
  closedWith: { code: number; reason: string } | null;
  /** The TCP connection has closed. */
  ended: boolean;
  socket: Socket;
}

export interface TestWsUpstream {
  url: string;
  server: Server;
  sessions: UpstreamSession[];
  close(): Promise<void>;
}

/** A server frame (never masked, RFC 6455 §5.1). */
export function serverFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n])
    : n < 65536 ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff])
    : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
  return Buffer.concat([head, payload]);
}

/**
 * A real WebSocket echo upstream over raw sockets, small enough to read: it completes the
 * handshake, unmasks the client's frames, echoes text frames back and answers a Close with a
 * Close. What it received (messages, the Close code) is what the tests assert on.
 */
export async function startWsUpstream(): Promise<TestWsUpstream> {
  const sessions: UpstreamSession[] = [];
  const server = createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const s: UpstreamSession = { url: req.url ?? '', headers: req.headers, messages: [], closedWith: null, ended: false, socket };
    sessions.push(s);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => (s.ended = true));
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key'] ?? ''}${WS_GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    let buf = head;
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (buf.length < 2) return;
        const opcode = (buf[0] as number) & 0x0f;
        const b1 = buf[1] as number;
        let len = b1 & 0x7f;
        let off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
        const mask = (b1 & 0x80) !== 0 ? buf.subarray(off, off + 4) : null;
        if (mask !== null) off += 4;
        if (buf.length < off + len) return;
        const payload = Buffer.from(buf.subarray(off, off + len));
        if (mask !== null) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i % 4] as number);
        buf = buf.subarray(off + len);
        handle(opcode, payload);
      }
    });
    function handle(opcode: number, payload: Buffer): void {
      if (opcode === 0x1) {
        const text = payload.toString('utf8');
        s.messages.push(text);
        socket.write(serverFrame(0x1, payload));
      } else if (opcode === 0x8) {
        s.closedWith = { code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString('utf8') };
        socket.end(serverFrame(0x8, payload.subarray(0, 2)));
      } else if (opcode === 0x9) socket.write(serverFrame(0xa, payload));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    sessions,
    async close() {
      for (const s of sessions) s.socket.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
