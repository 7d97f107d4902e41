/** Process exit codes of the `keygate` command; documented in `keygate --help`. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  invalidConfig: 3,
  /** The admin API refused the request or could not be reached (one line on stderr says why). */
  apiError: 4,
  /** Not an exit code: `serve` keeps running and exits from its signal handlers. */
  serving: -1,
} as const;

export type CommandResult = (typeof EXIT)[keyof typeof EXIT];
