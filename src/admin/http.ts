import type { IncomingMessage, ServerResponse } from 'node:http';
import { AdminError } from '../lifecycle/errors.ts';

/** Admin request bodies are small JSON documents; anything larger is refused unread. */
const MAX_BODY = 64 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** A handler's answer that is not JSON (the audit trail as CSV): sent as is, with its type. */
export class RawBody {
  readonly contentType: string;
  readonly body: string;
  readonly headers: Record<string, string>;
  constructor(contentType: string, body: string, headers: Record<string, string> = {}) {
    this.contentType = contentType;
    this.body = body;
    this.headers = headers;
  }
}

export function sendRaw(res: ServerResponse, status: number, raw: RawBody): void {
  res.writeHead(status, { ...raw.headers, 'content-type': raw.contentType, 'content-length': Buffer.byteLength(raw.body), 'cache-control': 'no-store' });
  res.end(raw.body);
}

/** The JSON body of an admin refusal (the OpenAPI document's examples are built with it too). */
export function adminErrorBody(err: AdminError): { error: Record<string, unknown> } {
  return {
    error: {
      code: err.code, message: err.message,
      ...(err.field === undefined ? {} : { field: err.field }),
      ...(err.resource === undefined ? {} : { resource: err.resource }),
    },
  };
}

export function sendAdminError(res: ServerResponse, err: AdminError): void {
  sendJson(res, err.status, adminErrorBody(err));
}

/** Reads a JSON object body (or `{}` when there is none). */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > MAX_BODY) throw new AdminError('payload_too_large', `Request bodies are limited to ${MAX_BODY} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new AdminError('payload_too_large', `Request bodies are limited to ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  if (size === 0) return {};
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new AdminError('unsupported_media_type', 'Send application/json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new AdminError('invalid_input', 'The body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new AdminError('invalid_input', 'The body must be a JSON object');
  return parsed as Record<string, unknown>;
}
