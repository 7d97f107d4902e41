#!/usr/bin/env node
/**
 * The `keygate` command. Exit codes (also in `keygate --help` and docs/operations.md):
 *   0 success · 1 runtime failure · 2 usage error · 3 invalid configuration
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { EXIT, type CommandResult } from './exit-codes.ts';
import { serveCommand } from './serve.ts';
import { initCommand } from './init.ts';
import { checkConfigCommand } from './check-config.ts';
import { hashKeyCommand } from './hash-key.ts';
import { adminCommand, CliUsageError } from './admin-commands.ts';
import { AdminApiError } from './admin-client.ts';
import { auditCommand } from './audit.ts';

const HELP = `keygate — API-key gateway

Usage:
  keygate serve [--config FILE]     run the gateway; config: --config, else $KEYGATE_CONFIG, else ./keygate.yaml,
                                    else the packaged demo default (the first log line says which)
  keygate init [--force] [FILE]     write a starter keygate.yaml with a new admin key and demo key
  keygate check-config FILE         validate a config file; print every problem or a route summary
  keygate hash-key                  read a secret on stdin, print its "sha256:<hex>" for the YAML file
  keygate --help | --version

Administration (over the admin API: $KEYGATE_ADMIN_URL, default http://127.0.0.1:9090,
with $KEYGATE_ADMIN_TOKEN; add --json to any of them for scripts):
  keygate principals list | show ID | create NAME --kind user|service [--role R]... [--group G]...
                     [--org O] [--meta k=v]... | update ID [--role R]... | disable ID | enable ID | delete ID
  keygate keys list [--principal P] [--status active|expired|revoked|rotated] | show ID
  keygate keys usage ID [--days 30]                                    requests per UTC day
  keygate keys create --principal P [--name N] [--purpose T] [--expires-in 90d] [--scope A]... [--type key_pair]
  keygate keys import --principal P [--name N] [--expires-in 90d]       (secret on stdin)
  keygate keys update ID [--name N] [--purpose T] | expire ID | rotate ID [--grace 24h] | delete ID
  keygate groups list | show NAME | create NAME [--role R]... [--resource type=id]... | update NAME ... | delete NAME
  keygate audit [--principal P] [--key ID] [--route R] [--decision allowed|denied|error] [--kind request|token|admin]
                [--since 24h] [--until T] [--limit N] [--format table|csv|json]

Exit codes:
  0  success
  1  runtime failure (a listener could not start, an unexpected fault)
  2  usage error (unknown command or option)
  3  invalid configuration (every problem is printed as file:line:column: path: reason)
  4  the admin API refused the request or could not be reached
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function run(argv: string[]): Promise<CommandResult> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(HELP);
      return command === undefined ? EXIT.usage : EXIT.ok;
    case '--version':
    case '-v':
      process.stdout.write(`keygate ${version()}\n`);
      return EXIT.ok;
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } }, strict: true });
      return serveCommand(values.config);
    }
    case 'init':
      return initCommand(rest);
    case 'check-config': {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true, strict: true });
      if (positionals.length !== 1) throw new UsageError('check-config takes exactly one FILE');
      return checkConfigCommand(positionals[0] as string);
    }
    case 'hash-key':
      parseArgs({ args: rest, strict: true });
      return hashKeyCommand();
    case 'audit':
      return auditCommand(rest);
    case 'principals':
    case 'keys':
    case 'groups':
      return adminCommand(command, rest);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

class UsageError extends Error {}

try {
  const code = await run(process.argv.slice(2));
  if (code !== EXIT.serving) process.exitCode = code;
} catch (e) {
  if (e instanceof AdminApiError) {
    process.stderr.write(`keygate: ${e.code === 'unreachable' ? '' : `${e.status} ${e.code}: `}${e.message}\n`);
    process.exitCode = EXIT.apiError;
  } else {
    const usage = e instanceof UsageError || e instanceof CliUsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`keygate: ${(e as Error).message}\n${usage ? 'Run "keygate --help" for usage.\n' : ''}`);
    process.exitCode = usage ? EXIT.usage : EXIT.failure;
  }
}
