/**
 * Every command's help, in one table: `keygate --help` is built from it, `keygate <command> --help`
 * and `keygate <group> <verb> --help` print one entry, and the typo suggestions draw their
 * candidates from it, so a command cannot exist without help (test/integration/cli-help.test.ts
 * runs `--help` on every entry).
 */
import { LIMIT_VERBS } from './limit-commands.ts';

export interface CommandHelp {
  usage: string;
  summary: string;
  /** Option lines: `--flag VALUE   what it does`. */
  options?: string[];
  /** More paragraphs, examples. */
  more?: string;
}

const JSON_OPT = '--json                 print the API\'s JSON (errors too, as {"error":{…}} on stderr)';
const ADMIN_NOTE = `Talks to the admin API: --admin-url or $KEYGATE_ADMIN_URL (default http://127.0.0.1:9090),
credential from --token or $KEYGATE_ADMIN_TOKEN (the admin token, or a key whose principal holds keygate:admin).`;

export const TOP: Record<string, CommandHelp> = {
  serve: {
    usage: 'keygate serve [--config FILE]',
    summary: 'run the gateway (config: --config, else $KEYGATE_CONFIG, else ./keygate.yaml, else the packaged default)',
    options: ['--config, -c FILE      the config file (default $KEYGATE_CONFIG, else ./keygate.yaml, else the packaged demo default; the first log line says which)'],
    more: 'Reloads on SIGHUP and when the file changes; drains in-flight requests on SIGTERM/SIGINT and exits 0.',
  },
  init: {
    usage: 'keygate init [--force] [FILE]',
    summary: 'write a starter keygate.yaml with a new admin key and demo key (secrets shown once)',
    options: ['--force, -f            overwrite FILE if it exists (default: refuse)'],
    more: 'FILE defaults to ./keygate.yaml, which `keygate serve` picks up from the working directory.',
  },
  'check-config': {
    usage: 'keygate check-config FILE [--json] [--placeholders]',
    summary: 'validate a config file; print every problem, or a summary of what would run',
    options: [
      '--json                 {"ok", "file", "problems": [...], "warnings": [...], "unsetVariables": [...], "summary"}',
      '--placeholders         check a deploy config whose ${VAR}s are not set here: each unset variable gets a',
      '                       stand-in of the type its field expects, and is listed instead of failing the check',
    ],
    more: 'Exit 0 when the file would load (warnings, such as a route an earlier one shadows, do not fail it), 3 when not.',
  },
  'hash-key': {
    usage: 'keygate hash-key',
    summary: 'read a secret on stdin, print its "sha256:<hex>" for the YAML file',
    more: 'The secret comes from stdin so it never lands in shell history or `ps`: printf \'%s\' "$SECRET" | keygate hash-key',
  },
  principals: { usage: 'keygate principals VERB ...', summary: 'users and service accounts (list, show, create, update, disable, enable, delete, limits)' },
  keys: { usage: 'keygate keys VERB ...', summary: 'API keys (list, show, usage, create, import, update, expire, rotate, delete, limits)' },
  groups: { usage: 'keygate groups VERB ...', summary: 'groups of roles and resources (list, show, create, update, delete)' },
  webhooks: { usage: 'keygate webhooks deliveries ...', summary: 'the webhook delivery log (deliveries)' },
  audit: {
    usage: 'keygate audit [--principal P] [--key ID] [--route R] [--decision D] [--kind K] [--since 24h] [--until T] [--limit N] [--format table|csv|json]',
    summary: 'the audit trail, newest first',
    options: [
      '--principal P          principal id or name',
      '--key ID               key id',
      '--route R              route name',
      '--decision D           allowed | denied | error',
      '--kind K               request | token | admin',
      '--since T, --until T   a duration back from now (24h, 7d) or an RFC 3339 time',
      '--limit N              at most N events in all (default: every match, fetched page by page)',
      '--format F             table (default), csv or json; --json is --format json',
    ],
  },
};

const DISPLAY_NAME_OPT = '--display-name TEXT    a full name or description for screens (any Unicode, up to 200 characters; never sent upstream)';

const PRINCIPAL_OPTS = [
  '--role R               a role (repeat for several)',
  '--group G              a group (repeat for several)',
  '--org O                the organization it belongs to',
  '--meta k=v             metadata (repeat for several)',
];

export const VERBS: Record<'principals' | 'keys' | 'groups' | 'webhooks', Record<string, CommandHelp>> = {
  principals: {
    list: { usage: 'keygate principals list', summary: 'every principal, declared and runtime (follows the API\'s pages to the end), by name', options: [JSON_OPT] },
    show: { usage: 'keygate principals show ID|NAME', summary: 'one principal', options: [JSON_OPT] },
    create: {
      usage: 'keygate principals create NAME [--kind user|service] [--display-name TEXT] [--role R]... [--group G]... [--org O] [--meta k=v]...',
      summary: 'create a principal',
      options: ['--kind K               user (default) or service', DISPLAY_NAME_OPT, ...PRINCIPAL_OPTS, JSON_OPT],
    },
    update: {
      usage: 'keygate principals update ID|NAME [--display-name TEXT | --no-display-name] [--role R]... [--group G]... [--org O] [--meta k=v]...',
      summary: 'change the display name, or replace roles, groups, org or metadata; applies to its keys at once',
      options: [DISPLAY_NAME_OPT, '--no-display-name      remove the display name', ...PRINCIPAL_OPTS, JSON_OPT],
    },
    disable: { usage: 'keygate principals disable ID|NAME', summary: 'every key and token of the principal stops working at once', options: [JSON_OPT] },
    enable: { usage: 'keygate principals enable ID|NAME', summary: 'enable a disabled principal', options: [JSON_OPT] },
    delete: { usage: 'keygate principals delete ID|NAME', summary: 'delete a principal and all its keys' },
    ...LIMIT_VERBS('principals'),
  },
  keys: {
    list: {
      usage: 'keygate keys list [--principal P] [--status S] [--unused 30d]',
      summary: 'keys with their principal, status, expiry, last use and 7-day request count (every page), oldest first',
      options: [
        '--principal P          only this principal\'s keys (id or name)', '--status S             active | expired | revoked | rotated',
        '--unused D             only keys not used for D (30d): last used, or created if never used, before then', JSON_OPT,
      ],
    },
    show: { usage: 'keygate keys show ID', summary: 'one key (never its secret)', options: [JSON_OPT] },
    usage: { usage: 'keygate keys usage ID [--days N]', summary: 'requests per UTC day, oldest first', options: ['--days N               how many days back (default 30)', JSON_OPT] },
    create: {
      usage: 'keygate keys create --principal P [--name N] [--purpose T] [--expires-in 90d] [--scope A]... [--type api_key|key_pair]',
      summary: 'issue a key; its secret is printed once',
      options: [
        '--principal P          the principal it authenticates as (id or name; required)',
        '--name N, --purpose T  labels shown in lists and the audit trail',
        '--expires-in D         lifetime (90d, 12h); default: keys.defaultLifetime, else never expires',
        '--scope A              limit the key to these actions (repeat); default: all its principal holds',
        '--type T               api_key (default) or key_pair',
        JSON_OPT,
      ],
    },
    import: {
      usage: 'keygate keys import --principal P [--name N] [--purpose T] [--expires-in 90d] [--scope A]...',
      summary: 'register an existing secret (read from stdin), e.g. while migrating from another gateway',
      options: ['--principal P          required', JSON_OPT],
    },
    update: {
      usage: 'keygate keys update ID [--name N] [--purpose T] [--expires-in 30d | --expires-at TIME | --no-expiry]',
      summary: 'relabel a key or change its expiry (active keys only; on every replica at once)',
      options: [
        '--name N, --purpose T  new labels',
        '--expires-in D         expire D from now (30d, 12h)',
        '--expires-at TIME      expire at an RFC 3339 time in the future (2027-01-31T00:00:00Z)',
        '--no-expiry            remove the expiry',
        JSON_OPT,
      ],
    },
    expire: { usage: 'keygate keys expire ID', summary: 'expire a key now (it is kept, for the audit trail)', options: [JSON_OPT] },
    rotate: {
      usage: 'keygate keys rotate ID [--grace 24h] [--expires-in 90d]', summary: 'issue a successor; the old key keeps working for the grace period',
      options: ['--grace D              how long the old secret keeps working (24h); default: not at all', '--expires-in D         the successor\'s lifetime; default: the old key\'s lifetime, within keys.maxLifetime', JSON_OPT],
    },
    delete: { usage: 'keygate keys delete ID', summary: 'delete a key' },
    ...LIMIT_VERBS('keys'),
  },
  webhooks: {
    deliveries: {
      usage: 'keygate webhooks deliveries [--status S] [--webhook NAME] [--event ID] [--limit N]',
      summary: 'recent deliveries, newest first: status, attempts, last error (docs/webhooks.md)',
      options: ['--status S             pending | delivering | delivered | failed', '--webhook NAME         one receiver', '--event ID             one event\'s deliveries', '--limit N              at most N (default 100, up to 1000)', JSON_OPT],
    },
  },
  groups: {
    list: { usage: 'keygate groups list', summary: 'every group (follows the API\'s pages to the end), by name', options: [JSON_OPT] },
    show: { usage: 'keygate groups show NAME', summary: 'one group', options: [JSON_OPT] },
    create: {
      usage: 'keygate groups create NAME [--role R]... [--resource type=id]...',
      summary: 'create a group',
      options: ['--role R               a role its members get (repeat)', '--resource type=id     a resource its members may act on (repeat)', JSON_OPT],
    },
    update: { usage: 'keygate groups update NAME [--role R]... [--resource type=id]...', summary: 'replace a group\'s roles or resources', options: [JSON_OPT] },
    delete: { usage: 'keygate groups delete NAME', summary: 'delete a group' },
  },
};

export const GLOBAL_OPTIONS = [
  '--admin-url URL        the admin API (default $KEYGATE_ADMIN_URL, else http://127.0.0.1:9090)',
  '--token TOKEN          the admin credential (default $KEYGATE_ADMIN_TOKEN); visible to other users in `ps`,',
  '                       so prefer the variable outside a workstation',
  '--json                 machine-readable output, and errors as {"error":{"code","message"}} on stderr',
  '--help, -h             help for any command: keygate keys create --help',
];

const EXIT_CODES = `Exit codes:
  0  success
  1  runtime failure (a listener could not start, an unexpected fault)
  2  usage error (unknown command or option)
  3  invalid configuration (every problem is printed as file:line:column: path: reason)
  4  the admin API refused the request or could not be reached
`;

function render(h: CommandHelp, extra = ''): string {
  const parts = [`Usage: ${h.usage}`, '', h.summary];
  if (h.options !== undefined && h.options.length > 0) parts.push('', 'Options:', ...h.options.map((o) => `  ${o}`));
  if (h.more !== undefined) parts.push('', h.more);
  if (extra !== '') parts.push('', extra);
  return `${parts.join('\n')}\n`;
}

export function commandHelp(command: string): string | undefined {
  const h = TOP[command];
  if (h === undefined) return undefined;
  if (command in VERBS) {
    const verbs = VERBS[command as keyof typeof VERBS];
    const lines = Object.values(verbs).map((v) => `  ${v.usage}\n      ${v.summary}`);
    return `Usage: ${h.usage}\n\n${h.summary}\n\nVerbs:\n${lines.join('\n')}\n\n${ADMIN_NOTE}\nkeygate ${command} VERB --help shows one verb's options.\n`;
  }
  return render(h, command === 'audit' ? ADMIN_NOTE : '');
}

export function verbHelp(group: keyof typeof VERBS, verb: string): string | undefined {
  const h = VERBS[group][verb];
  return h === undefined ? undefined : render(h, ADMIN_NOTE);
}

export function mainHelp(): string {
  const width = Math.max(...Object.keys(TOP).map((k) => k.length));
  const commands = Object.entries(TOP).map(([name, h]) => `  ${name.padEnd(width)}  ${h.summary}`);
  return `keygate — API-key gateway

Usage: keygate COMMAND [options]      keygate COMMAND --help for its options

Commands:
${commands.join('\n')}

Global options (any command):
${GLOBAL_OPTIONS.map((o) => `  ${o}`).join('\n')}

${EXIT_CODES}`;
}
