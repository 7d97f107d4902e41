import { pino, type Logger, type LoggerOptions } from 'pino';
import { LogSink } from './sink.ts';

export type { Logger };

/**
 * The process logger's options. Redaction is a second fence: nothing secret is passed to the
 * logger in the first place. (The access log skips it: its fields are fixed and none of them
 * can hold a credential; see log/access.ts.)
 */
export function loggerOptions(level: string, sink: { flush(): void }, bindings: Record<string, string | number> = {}): LoggerOptions {
  return {
    level,
    base: { service: 'keygate', ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['*.authorization', '*.headers.authorization', '*.secret', '*.userKey', '*.token'], censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    // Errors and worse leave the batch at once: they are what a crash must not take with it.
    hooks: {
      logMethod(args, method, lvl) {
        method.apply(this, args);
        if (lvl >= 50) sink.flush();
      },
    },
  };
}

/** The batch sink behind each logger `createLogger` made: the access log writes its lines there. */
const sinks = new WeakMap<Logger, LogSink>();

/** The sink a logger from {@link createLogger} writes to; undefined for any other pino logger. */
export function sinkOf(logger: Logger): LogSink | undefined {
  return sinks.get(logger);
}

export interface LoggerExtras {
  /** Several processes write to the destination (`server.workers` > 1): see {@link LogSink}. @default false */
  shared?: boolean;
  /** Fields on every line after `service` (a worker's `worker: 2`), the access log's included. */
  bindings?: Record<string, string | number>;
}

/**
 * The process logger: JSON lines on stdout (or appended to a file), batched in a
 * {@link LogSink} so a line costs a buffer copy, not a syscall; `flush(cb)` writes before exit,
 * and the sink also writes what is left when the process exits.
 */
export function createLogger(level: string, destination: number | string = 1, opts: LoggerExtras = {}): Logger {
  const sink = new LogSink(destination, { shared: opts.shared ?? false });
  const logger = pino(loggerOptions(level, sink, opts.bindings), sink);
  sinks.set(logger, sink);
  return logger;
}
