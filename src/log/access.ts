import type { RequestContext } from '../context.ts';
import type { GatewayError } from '../errors.ts';
import type { Logger } from './logger.ts';
import { maskKeys } from '../credentials/mask.ts';

export interface AccessLog {
  /** One line per request: who, which route, what status, how long. Never a credential. */
  request(ctx: RequestContext, status: number): void;
  /** An unexpected fault (a bug or a broken dependency), with its cause for the operator. */
  fault(ctx: RequestContext, err: GatewayError): void;
}

export function createAccessLog(logger: Logger): AccessLog {
  // The line's fields are fixed: the path (normalized, never the query string) has key-shaped
  // text masked, the rest are ids and codes. So the root logger's redaction pass — nested
  // paths that never match these flat fields, at a third of the cost of a line — is skipped
  // here. Fault lines keep it: they carry causes of unknown shape.
  const lines = logger.child({}, { redact: { paths: [] } });
  return {
    request(ctx, status) {
      lines.info(
        {
          reqId: ctx.id,
          method: ctx.req.method,
          path: maskKeys(ctx.path, ctx.gen.config.keys.prefix),
          route: ctx.match?.route.name ?? null,
          status,
          durationMs: Number(process.hrtime.bigint() - ctx.start) / 1e6,
          principalId: ctx.principal?.id ?? null,
          keyId: ctx.key?.id ?? null,
          credential: ctx.credential?.style ?? ctx.malformedStyle,
          error: ctx.errorCode,
          client: ctx.req.socket?.remoteAddress ?? null,
          upstreamRetry: ctx.upstreamRetry,
        },
        'request',
      );
    },
    fault(ctx, err) {
      logger.error({ reqId: ctx.id, err: err.cause ?? err }, 'request failed');
    },
  };
}
