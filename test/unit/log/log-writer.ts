/**
 * Child process for sink.test.ts: writes access lines and pino lines through a real keygate
 * logger on stdout, then ends as argv says, without flushing by hand.
 *   node log-writer.ts <count> <nonblocking|blocking> <exit|drain|throw> [shared]
 * `shared`: as a `server.workers` worker logs (line-end cuts ≤ PIPE_BUF; no line longer than that).
 */
import type { RequestContext } from '../../../src/context.ts';
import { createAccessLog } from '../../../src/log/access.ts';
import { createLogger } from '../../../src/log/logger.ts';

const [count, mode, end, shared] = [Number(process.argv[2]), process.argv[3], process.argv[4], process.argv[5] === 'shared'];
// Touching process.stdout makes libuv switch the pipe to non-blocking: then a full pipe is
// EAGAIN for the sink, and the lines must wait in memory rather than be lost.
if (mode === 'nonblocking') void process.stdout;
const logger = createLogger('info', 1, { shared });
const access = createAccessLog(logger);
// A line longer than PIPE_BUF cannot be atomic: shared writers only write shorter ones.
const big = shared ? 'x'.repeat(3_000) : 'x'.repeat(100_000);
for (let i = 0; i < count; i++) {
  const ctx = {
    id: `r${i}`, start: process.hrtime.bigint(), path: `/seq/${i}`, errorCode: null,
    gen: { config: { keys: { prefix: 'kg_' } } }, req: { method: 'GET', socket: { remoteAddress: '127.0.0.1' } },
    match: null, principal: null, key: null, credential: null, malformedStyle: null, upstreamRetry: null,
  } as unknown as RequestContext;
  access.request(ctx, 200);
  if (i % 1000 === 0) logger.info({ seq: i, pad: i % 3000 === 0 ? big : 'é' }, 'pino line');
  if (i % 5000 === 0) logger.error({ seq: i }, 'error line');
}
if (end === 'exit') process.exit(0);
if (end === 'throw') throw new Error('boom');
// 'drain': the event loop just empties.
