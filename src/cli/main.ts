#!/usr/bin/env node
/**
 * The `keygate` command. Exit codes (also in `keygate --help` and docs/operations.md):
 *   0 success · 1 runtime failure · 2 usage error · 3 invalid configuration · 4 admin API refusal
 */
// First: `keygate serve` re-executes in place with its V8 flags before anything else loads (runtime-flags.ts).
import './apply-runtime-flags.ts';
import { readFileSync } from 'node:fs';
import { EXIT, type CommandResult } from './exit-codes.ts';
import { HelpRequested, parseCommand, takeGlobalOptions, type GlobalOptions } from './args.ts';
import { commandHelp, mainHelp, TOP } from './help.ts';
import { CliUsageError } from './usage-error.ts';
import { reportError } from './report-error.ts';
import { didYouMean } from '../suggest.ts';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** `--help` or `-h` among a command's own arguments (not after `--`). */
function asksHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

async function run(argv: string[], globals: GlobalOptions): Promise<CommandResult> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help': {
      // `keygate help keys` is `keygate keys --help`.
      const topic = command === 'help' && rest[0] !== undefined ? commandHelp(rest[0]) : undefined;
      process.stdout.write(topic ?? mainHelp());
      return command === undefined ? EXIT.usage : EXIT.ok;
    }
    case '--version':
    case '-v':
      process.stdout.write(`keygate ${version()}\n`);
      return EXIT.ok;
  }
  if (!Object.hasOwn(TOP, command)) {
    const commands = [...Object.keys(TOP), 'help'];
    throw new CliUsageError(`unknown command "${command}"${didYouMean(command, commands)}`);
  }
  if (asksHelp(rest) && !['principals', 'keys', 'groups', 'webhooks'].includes(command)) {
    process.stdout.write(commandHelp(command) ?? '');
    return EXIT.ok;
  }
  const target = { url: globals.adminUrl, token: globals.token };
  // Each command's code is imported when it runs: `--help` or a typo answers without loading
  // the gateway, the config schema and undici.
  switch (command) {
    case 'serve': {
      const { values } = parseCommand(rest, { config: { type: 'string', short: 'c' } }, 'serve');
      const { serveCommand } = await import('./serve.ts');
      // --config, else $KEYGATE_CONFIG, else ./keygate.yaml, else the packaged default (serve.ts).
      return serveCommand(values['config'] as string | undefined);
    }
    case 'init': {
      const { initCommand } = await import('./init.ts');
      return initCommand(rest);
    }
    case 'check-config': {
      const { values, positionals } = parseCommand(rest, { placeholders: { type: 'boolean' } }, 'check-config');
      if (positionals.length !== 1) throw new CliUsageError('check-config takes exactly one FILE');
      const { checkConfigCommand } = await import('./check-config.ts');
      return checkConfigCommand(positionals[0] as string, { json: values['json'] === true, placeholders: values['placeholders'] === true });
    }
    case 'hash-key': {
      parseCommand(rest, {}, 'hash-key');
      const { hashKeyCommand } = await import('./hash-key.ts');
      return hashKeyCommand();
    }
    case 'audit': {
      const { auditCommand } = await import('./audit.ts');
      return auditCommand(rest, target);
    }
    default: {
      const { adminCommand } = await import('./admin-commands.ts');
      return adminCommand(command as 'principals' | 'keys' | 'groups' | 'webhooks', rest, target);
    }
  }
}

let globals: GlobalOptions = { json: process.argv.includes('--json') };
try {
  const taken = takeGlobalOptions(process.argv.slice(2));
  globals = taken.globals;
  const code = await run(taken.rest, globals);
  if (code !== EXIT.serving) process.exitCode = code;
} catch (e) {
  if (e instanceof HelpRequested) {
    process.stdout.write(mainHelp());
    process.exitCode = EXIT.ok;
  } else {
    process.exitCode = reportError(e, globals.json);
  }
}
