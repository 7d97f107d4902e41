import type { IncomingHttpHeaders } from 'node:http';
import type { RequestView } from '../context.ts';

/** The original request as a check describes it: what {@link originalRequest} is built from. */
export interface OriginalRequest {
  method: string;
  uri: string;
  host: string | undefined;
  /** Lower-case names; a header sent twice is an array, so duplicates stay visible to the stages that refuse them. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | null | undefined;
  clientAddress: string;
}

/**
 * The original request in the shape the shared stages read (`RequestView`). The raw header list
 * is rebuilt from the record, one entry per value, with `Host` replaced by the original host:
 * the stages that refuse a doubled `Authorization` or `Host` see the doubles.
 */
export function originalRequest(o: OriginalRequest): RequestView {
  const headers: IncomingHttpHeaders = {};
  const rawHeaders: string[] = [];
  const from = o.headers;
  // for…in over the shapes' plain records: no entries array, no list per single header.
  for (const name in from) {
    const value = from[name];
    if (value === undefined || name === 'host') continue;
    if (typeof value === 'string') {
      rawHeaders.push(name, value);
      if (name === 'set-cookie') headers['set-cookie'] = [value];
      else headers[name] = value;
      continue;
    }
    if (value.length === 0) continue;
    for (const v of value) rawHeaders.push(name, v);
    // Node keeps the first of a repeated single-valued header; set-cookie alone stays a list.
    if (name === 'set-cookie') headers['set-cookie'] = value;
    else headers[name] = value[0];
  }
  if (o.host !== undefined) {
    headers.host = o.host;
    rawHeaders.push('host', o.host);
  }
  const body = o.body;
  return {
    method: o.method,
    url: o.uri,
    headers,
    rawHeaders,
    socket: { remoteAddress: o.clientAddress },
    async *[Symbol.asyncIterator]() {
      if (body !== null && body !== undefined && body.length > 0) yield body;
    },
  };
}
