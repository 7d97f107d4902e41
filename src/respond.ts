import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { errorBody, GatewayError } from './errors.ts';

/**
 * Writes an error as JSON. When the request body was not (fully) read, the connection is closed
 * after the answer: an unread body must never be parsed as the next request on this connection.
 */
export function sendError(res: ServerResponse, err: GatewayError, requestId: string, closeConnection: boolean): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const body = errorBody(err.code, err.message, requestId);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    ...err.headers,
  };
  if (closeConnection) headers['connection'] = 'close';
  res.writeHead(err.status, headers);
  res.end(body);
}

/** The same answer on a raw socket (WebSocket upgrades and parser errors have no ServerResponse). */
export function sendErrorOnSocket(socket: Socket, err: GatewayError, requestId: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = errorBody(err.code, err.message, requestId);
  let head = `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}\r\n`;
  head += `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\n`;
  if (requestId !== '') head += `x-request-id: ${requestId}\r\n`;
  for (const [k, v] of Object.entries(err.headers ?? {})) head += `${k}: ${v}\r\n`;
  socket.end(`${head}connection: close\r\n\r\n${body}`);
}

/** Parser-level rejections (framing, size, slowness) → the same JSON errors, then close. */
export function clientErrorFor(err: NodeJS.ErrnoException): GatewayError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT': return new GatewayError('request_timeout');
    case 'HPE_HEADER_OVERFLOW': return new GatewayError('headers_too_large');
    default: return new GatewayError('invalid_request', 'Malformed HTTP request');
  }
}
