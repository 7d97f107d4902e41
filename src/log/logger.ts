import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The process logger: JSON lines on stdout. Writes are asynchronous so a slow log consumer
 * never adds latency to requests; `flush()` runs before exit. Redaction is a second fence:
 * nothing secret is passed to the logger in the first place.
 */
export function createLogger(level: string, destination: number | string = 1): Logger {
  return pino(
    {
      level,
      base: { service: 'keygate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['*.authorization', '*.headers.authorization', '*.secret', '*.userKey', '*.token'], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: destination, sync: false }),
  );
}
