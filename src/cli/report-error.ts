import { EXIT, type CommandResult } from './exit-codes.ts';
import { AdminApiError, MissingTokenError } from './admin-errors.ts';
import { CliUsageError } from './usage-error.ts';

/** What went wrong, as the CLI reports it: a stable code, the exit status, and the sentence. */
export interface CliErrorReport {
  code: string;
  message: string;
  /** The admin API's HTTP status, when it answered. */
  status?: number;
  exit: CommandResult;
}

export function classify(e: unknown): CliErrorReport {
  if (e instanceof AdminApiError) {
    return { code: e.code, message: e.message, ...(e.status === 0 ? {} : { status: e.status }), exit: EXIT.apiError };
  }
  if (e instanceof MissingTokenError) return { code: 'missing_token', message: e.message, exit: EXIT.usage };
  if (e instanceof CliUsageError) return { code: 'usage', message: e.message, exit: EXIT.usage };
  return { code: 'failure', message: e instanceof Error ? e.message : String(e), exit: EXIT.failure };
}

/**
 * Writes the error to stderr and returns the exit code. Under `--json` it is one line,
 * `{"error":{"code","message","status"?}}` (the admin API's own error shape), so a script that
 * reads the JSON of a success also reads a failure without scraping text; stdout stays empty.
 */
export function reportError(e: unknown, json: boolean): CommandResult {
  const r = classify(e);
  if (json) {
    const { exit: _exit, ...error } = r;
    process.stderr.write(`${JSON.stringify({ error })}\n`);
  } else if (r.code === 'usage' || r.code === 'missing_token') {
    process.stderr.write(`keygate: ${r.message}\nRun "keygate --help" for usage.\n`);
  } else {
    const prefix = r.status === undefined ? '' : `${r.status} ${r.code}: `;
    process.stderr.write(`keygate: ${prefix}${r.message}\n`);
  }
  return r.exit;
}
