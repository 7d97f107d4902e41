import { randomUUID } from 'node:crypto';
import type { RequestView } from '../context.ts';
import type { GatewayConfig } from '../config/types.ts';
import { looksLikeCredential } from '../credentials/looks-like.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The request's id: the client's X-Request-Id when it is well-formed and does not look like a
 * credential (it is logged, audited and echoed back), else a fresh UUID. Two X-Request-Id
 * headers arrive joined by ", ", which the format refuses.
 */
export function requestIdOf(req: Pick<RequestView, 'headers'>, cfg: GatewayConfig): string {
  const given = req.headers['x-request-id'];
  if (typeof given !== 'string' || !REQUEST_ID.test(given)) return randomUUID();
  return looksLikeCredential(given, cfg.keys.prefix, cfg.server.headers.credentialPatterns) ? randomUUID() : given;
}
