import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Lines are collected up to this many bytes before one write(2): at thousands of requests a
 * second, a syscall per access-log line cost more than the whole authentication step. Not more:
 * sonic-boom measures the pending string on every write, so a bigger buffer costs more per line
 * (profiled: 16 KB took 10% of the request path, 1 KB under 7%, with the syscalls included).
 */
const BUFFER_BYTES = 1024;
/** Longest a line waits in that buffer when traffic is light. */
const FLUSH_EVERY_MS = 250;

/**
 * The process logger: JSON lines on stdout. Writes are asynchronous and buffered so a slow log
 * consumer never adds latency to requests; `flush(cb)` runs before exit. Redaction is a second
 * fence: nothing secret is passed to the logger in the first place. (The access log skips it:
 * its fields are fixed and none of them can hold a credential; see log/access.ts.)
 */
export function createLogger(level: string, destination: number | string = 1): Logger {
  const stream = pino.destination({ dest: destination, sync: false, minLength: BUFFER_BYTES });
  setInterval(() => {
    // flush() throws while the file is still opening; the next tick will do.
    try {
      stream.flush();
    } catch {
      /* not ready yet */
    }
  }, FLUSH_EVERY_MS).unref();
  return pino(
    {
      level,
      base: { service: 'keygate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['*.authorization', '*.headers.authorization', '*.secret', '*.userKey', '*.token'], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      // Errors and worse leave the buffer at once: they are what a crash must not take with it.
      hooks: {
        logMethod(args, method, level) {
          method.apply(this, args);
          if (level >= 50) {
            try {
              stream.flush();
            } catch {
              /* not open yet: the periodic flush will write it */
            }
          }
        },
      },
    },
    stream,
  );
}
