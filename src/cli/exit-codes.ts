/** Process exit codes of the `keygate` command; documented in `keygate --help`. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  invalidConfig: 3,
  /** Not an exit code: `serve` keeps running and exits from its signal handlers. */
  serving: -1,
} as const;

export type CommandResult = (typeof EXIT)[keyof typeof EXIT];
