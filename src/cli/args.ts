import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliUsageError } from './usage-error.ts';
import { didYouMean } from '../suggest.ts';

export type Values = Record<string, string | boolean | string[] | undefined>;
type Options = NonNullable<ParseArgsConfig['options']>;

/** Raised by {@link parseCommand} for `--help`/`-h`: main prints the help of what was asked. */
export class HelpRequested extends Error {}

/**
 * One command's arguments, strictly (an unknown flag is a usage error), with `--json` and
 * `--help` accepted everywhere and a "did you mean" for a mistyped flag (`--principle` →
 * `--principal`). node:util's own message for an unknown option talks about positionals and `--`,
 * which is never what the user meant.
 */
export function parseCommand(args: string[], options: Options, what: string): { values: Values; positionals: string[] } {
  const all: Options = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...options };
  let r: ReturnType<typeof parseArgs>;
  try {
    r = parseArgs({ args, options: all, allowPositionals: true, strict: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']+)'/.exec(err.message)?.[1] ?? '';
      if (args.includes('--help') || args.includes('-h')) throw new HelpRequested();
      const names = Object.keys(all).map((n) => `--${n}`);
      throw new CliUsageError(`${what}: unknown option "${flag}"${didYouMean(flag, names)}`);
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new CliUsageError(`${what}: ${err.message.replace(/^Option '([^']+)'/, '$1')}`);
    throw new CliUsageError(`${what}: ${err.message}`);
  }
  if (r.values['help'] === true) throw new HelpRequested();
  return { values: r.values as Values, positionals: r.positionals };
}

/** Options every command takes, wherever they appear on the line (before `--`). */
export interface GlobalOptions {
  adminUrl?: string;
  token?: string;
  /** `--json` was given: errors are JSON too. */
  json: boolean;
}

const GLOBAL_VALUED = new Set(['--admin-url', '--token']);

/**
 * Takes `--admin-url URL` / `--admin-url=URL` and `--token T` / `--token=T` out of argv, so each
 * command's parser never sees them; `--json` is left in (commands print JSON for it).
 */
export function takeGlobalOptions(argv: string[]): { globals: GlobalOptions; rest: string[] } {
  const globals: GlobalOptions = { json: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string; // i < length
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (GLOBAL_VALUED.has(name)) {
      const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new CliUsageError(`${name} needs a value`);
      if (name === '--admin-url') globals.adminUrl = value;
      else globals.token = value;
      continue;
    }
    if (a === '--json') globals.json = true;
    rest.push(a);
  }
  return { globals, rest };
}
