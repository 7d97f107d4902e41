import type { ParseArgsConfig } from 'node:util';
import { text } from 'node:stream/consumers';
import { adminClientFromEnv, type AdminClient, type AdminTarget } from './admin-client.ts';
import { parseCommand, type Values } from './args.ts';
import { commandHelp, verbHelp, VERBS } from './help.ts';
import { didYouMean } from '../suggest.ts';
import { table } from './table.ts';
import { EXIT, type CommandResult } from './exit-codes.ts';
import { CliUsageError } from './usage-error.ts';
import { keysUsage } from './audit.ts';
import { limitsCommand } from './limit-commands.ts';

export { CliUsageError };

type Row = Record<string, unknown>;

/** The `group verb` named in usage errors; set once by {@link adminCommand} (one command per process). */
let current = '';

function parse(args: string[], options: ParseArgsConfig['options']): { values: Values; positionals: string[] } {
  return parseCommand(args, options ?? {}, current);
}

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new CliUsageError(`expected exactly one ${what}`);
  return positionals[0] as string;
}

function pairs(list: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    if (i <= 0) throw new CliUsageError(`--${flag} takes key=value, got "${item}"`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

const enc = (s: string) => encodeURIComponent(s);
const out = (s: string): void => void process.stdout.write(`${s}\n`);

function print(values: Values, data: unknown, human: () => string): void {
  out(values['json'] === true ? JSON.stringify(data, null, 2) : human());
}

/** Like {@link print}, for keys: the table names each key's principal. */
async function printKeys(c: AdminClient, values: Values, data: unknown, items: Row[]): Promise<void> {
  if (values['json'] === true) return out(JSON.stringify(data, null, 2));
  const names = await principalNames(c);
  out(keyTable(items, names));
}

/**
 * Every item of a paginated listing: follows `nextCursor` to the end, 1000 at a time (the
 * API's maximum), so `list` shows everything however many there are.
 */
async function listAll(c: AdminClient, path: string): Promise<Row[]> {
  const items: Row[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `limit=1000${cursor === null ? '' : `&cursor=${enc(cursor)}`}`;
    const page = (await c.call('GET', `${path}${path.includes('?') ? '&' : '?'}${q}`)) as { items: Row[]; nextCursor?: string | null };
    items.push(...page.items);
    cursor = page.nextCursor ?? null;
  } while (cursor !== null);
  return items;
}

/** Code-unit order, as the stores sort (not the locale's). */
const byText = (field: string) => (a: Row, b: Row): number => {
  const x = String(a[field]);
  const y = String(b[field]);
  return x < y ? -1 : x > y ? 1 : 0;
};

function principalTable(items: Row[]): string {
  return table(['id', 'name', 'display name', 'kind', 'roles', 'groups', 'org', 'disabled', 'source'],
    items.map((p) => [p['id'], p['name'], p['displayName'], p['kind'], (p['roles'] as string[]).join(','), (p['groups'] as string[]).join(','), p['org'] as string, p['disabled'] as boolean, p['source']] as string[]));
}

/**
 * Principal id → name, for the PRINCIPAL column of key tables: people recognise `ci-bot`, not
 * `p_01J…`. One extra request, made only for human output; if it fails the ids are shown.
 */
async function principalNames(c: AdminClient): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  try {
    let cursor: string | null = null;
    do {
      const page = (await c.call('GET', `/v1/principals${cursor === null ? '' : `?cursor=${enc(cursor)}`}`)) as { items: Row[]; nextCursor?: string | null };
      for (const p of page.items) names.set(p['id'] as string, p['name'] as string);
      cursor = page.nextCursor ?? null;
    } while (cursor !== null);
  } catch {
    // Best effort: a table with ids is still right.
  }
  return names;
}

function keyTable(items: Row[], names: Map<string, string> = new Map()): string {
  // Lists carry 7-day request counts (null: the usage store could not be read: shown as "?").
  const week = items.some((k) => 'requests7d' in k);
  // Keys with a quota of their own: what is left and when it refills (docs/limits.md).
  const quota = items.some((k) => k['quotaLeft'] !== undefined && k['quotaLeft'] !== null);
  const left = (k: Row): string[] => {
    const q = k['quotaLeft'] as { remaining: number; resetsAt: string | null } | null | undefined;
    return q === null || q === undefined ? ['', ''] : [String(q.remaining), q.resetsAt ?? 'never'];
  };
  const columns = ['id', 'principal', 'name', 'prefix', 'status', 'expires', 'last used', ...(week ? ['7d requests'] : []), ...(quota ? ['quota left', 'quota resets'] : []), 'purpose'];
  return table(columns, items.map((k) => [k['id'], names.get(k['principalId'] as string) ?? k['principalId'], k['name'], k['prefix'], k['status'], k['expiresAt'], k['lastUsedAt'],
    ...(week ? [k['requests7d'] === null ? '?' : String(k['requests7d'])] : []), ...(quota ? left(k) : []), k['purpose']] as string[]));
}

function groupTable(items: Row[]): string {
  return table(['name', 'roles', 'resources'], items.map((g) => [g['name'] as string, (g['roles'] as string[]).join(','),
    Object.entries(g['resources'] as Record<string, string[]>).map(([t, ids]) => `${t}:${ids.join('|')}`).join(' ')]));
}

async function secretNotice(c: AdminClient, values: Values, data: { key: Row; secret: string; notice: string }): Promise<void> {
  if (values['json'] === true) return out(JSON.stringify(data, null, 2));
  out(keyTable([data.key], await principalNames(c)));
  out(`\nsecret: ${data.secret}`);
  process.stderr.write(`\n${data.notice}\n`);
}

async function principals(c: AdminClient, verb: string, args: string[]): Promise<void> {
  const listOpts = { role: { type: 'string', multiple: true }, group: { type: 'string', multiple: true }, org: { type: 'string' }, meta: { type: 'string', multiple: true } } as const;
  switch (verb) {
    case 'list': {
      // The API pages in id order; people look principals up by name.
      const { values } = parse(args, {}); const d = { items: (await listAll(c, '/v1/principals')).sort(byText('name')) };
      return print(values, d, () => principalTable(d.items));
    }
    case 'show': { const { values, positionals } = parse(args, {}); const d = (await c.call('GET', `/v1/principals/${enc(one(positionals, 'principal'))}`)) as Row; return print(values, d, () => principalTable([d])); }
    case 'create': {
      const { values, positionals } = parse(args, { kind: { type: 'string' }, 'display-name': { type: 'string' }, ...listOpts });
      const body = defined({ name: one(positionals, 'NAME'), displayName: values['display-name'], kind: values['kind'] ?? 'user', roles: values['role'], groups: values['group'], org: values['org'],
        metadata: values['meta'] === undefined ? undefined : pairs(values['meta'] as string[], 'meta') });
      const d = (await c.call('POST', '/v1/principals', body)) as Row; return print(values, d, () => principalTable([d]));
    }
    case 'update': {
      const { values, positionals } = parse(args, { ...listOpts, 'display-name': { type: 'string' }, 'no-display-name': { type: 'boolean' } });
      if (values['display-name'] !== undefined && values['no-display-name'] !== undefined) throw new CliUsageError('principals update takes --display-name or --no-display-name, not both');
      const body = defined({ displayName: values['no-display-name'] === true ? null : values['display-name'], roles: values['role'], groups: values['group'], org: values['org'], metadata: values['meta'] === undefined ? undefined : pairs(values['meta'] as string[], 'meta') });
      const d = (await c.call('PATCH', `/v1/principals/${enc(one(positionals, 'principal'))}`, body)) as Row; return print(values, d, () => principalTable([d]));
    }
    case 'disable': case 'enable': {
      const { values, positionals } = parse(args, {});
      const d = (await c.call('POST', `/v1/principals/${enc(one(positionals, 'principal'))}/${verb}`)) as Row; return print(values, d, () => principalTable([d]));
    }
    case 'delete': { const { positionals } = parse(args, {}); await c.call('DELETE', `/v1/principals/${enc(one(positionals, 'principal'))}`); return out('deleted'); }
    case 'limits': return limitsCommand(c, 'principals', args, current);
    default: throw unknownVerb('principals', verb);
  }
}

async function keys(c: AdminClient, verb: string, args: string[]): Promise<void> {
  const createOpts = { principal: { type: 'string' }, name: { type: 'string' }, purpose: { type: 'string' }, 'expires-in': { type: 'string' }, scope: { type: 'string', multiple: true } } as const;
  switch (verb) {
    case 'list': {
      const { values } = parse(args, { principal: { type: 'string' }, status: { type: 'string' }, unused: { type: 'string' } });
      const q = new URLSearchParams(defined({ principal: values['principal'], status: values['status'], unusedFor: values['unused'] }) as Record<string, string>).toString();
      // The API pages in id order; a key list reads best oldest first (ISO times sort as text).
      const items = (await listAll(c, `/v1/keys${q === '' ? '' : `?${q}`}`)).sort((a, b) => byText('createdAt')(a, b) || byText('id')(a, b));
      const d = { items }; return printKeys(c, values, d, d.items);
    }
    case 'show': { const { values, positionals } = parse(args, {}); const d = (await c.call('GET', `/v1/keys/${enc(one(positionals, 'key id'))}`)) as Row; return printKeys(c, values, d, [d]); }
    case 'usage': return keysUsage(c, args);
    case 'create': {
      const { values, positionals } = parse(args, { ...createOpts, type: { type: 'string' } });
      if (positionals.length > 0) throw new CliUsageError('keys create takes no positional arguments; use --principal');
      if (values['principal'] === undefined) throw new CliUsageError('keys create needs --principal');
      const body = defined({ principal: values['principal'], name: values['name'], purpose: values['purpose'], expiresIn: values['expires-in'], scopes: values['scope'], type: values['type'] });
      return secretNotice(c, values, (await c.call('POST', '/v1/keys', body)) as { key: Row; secret: string; notice: string });
    }
    case 'import': {
      const { values } = parse(args, createOpts);
      if (values['principal'] === undefined) throw new CliUsageError('keys import needs --principal (the secret is read from stdin)');
      const secret = (await text(process.stdin)).replace(/\r?\n$/, '');
      const body = defined({ principal: values['principal'], secret, name: values['name'], purpose: values['purpose'], expiresIn: values['expires-in'], scopes: values['scope'] });
      const d = (await c.call('POST', '/v1/keys/import', body)) as Row; return printKeys(c, values, d, [d]);
    }
    case 'update': {
      const { values, positionals } = parse(args, { name: { type: 'string' }, purpose: { type: 'string' }, 'expires-in': { type: 'string' }, 'expires-at': { type: 'string' }, 'no-expiry': { type: 'boolean' } });
      const expiry = [values['expires-in'], values['expires-at'], values['no-expiry']].filter((v) => v !== undefined);
      if (expiry.length > 1) throw new CliUsageError('keys update takes one of --expires-in, --expires-at, --no-expiry');
      const body = defined({ name: values['name'], purpose: values['purpose'], expiresIn: values['expires-in'],
        expiresAt: values['no-expiry'] === true ? null : values['expires-at'] });
      const d = (await c.call('PATCH', `/v1/keys/${enc(one(positionals, 'key id'))}`, body)) as Row;
      return printKeys(c, values, d, [d]);
    }
    case 'expire': { const { values, positionals } = parse(args, {}); const d = (await c.call('POST', `/v1/keys/${enc(one(positionals, 'key id'))}/expire`)) as Row; return printKeys(c, values, d, [d]); }
    case 'rotate': {
      const { values, positionals } = parse(args, { grace: { type: 'string' }, 'expires-in': { type: 'string' } });
      const d = (await c.call('POST', `/v1/keys/${enc(one(positionals, 'key id'))}/rotate`, defined({ grace: values['grace'], expiresIn: values['expires-in'] })));
      return secretNotice(c, values, d as { key: Row; secret: string; notice: string });
    }
    case 'delete': { const { positionals } = parse(args, {}); await c.call('DELETE', `/v1/keys/${enc(one(positionals, 'key id'))}`); return out('deleted'); }
    case 'limits': return limitsCommand(c, 'keys', args, current);
    default: throw unknownVerb('keys', verb);
  }
}

/** `--resource application=app-1 --resource application=app-2` → `{ application: [app-1, app-2] }` */
function resources(list: string[] | undefined): Record<string, string[]> | undefined {
  if (list === undefined) return undefined;
  const out: Record<string, string[]> = {};
  for (const item of list) {
    const i = item.indexOf('=');
    if (i <= 0) throw new CliUsageError(`--resource takes type=id, got "${item}"`);
    (out[item.slice(0, i)] ??= []).push(item.slice(i + 1));
  }
  return out;
}

async function groups(c: AdminClient, verb: string, args: string[]): Promise<void> {
  const opts = { role: { type: 'string', multiple: true }, resource: { type: 'string', multiple: true } } as const;
  switch (verb) {
    // Every page to the end; a server from before groups were paged answers one page without nextCursor.
    case 'list': { const { values } = parse(args, {}); const d = { items: await listAll(c, '/v1/groups') }; return print(values, d, () => groupTable(d.items)); }
    case 'show': { const { values, positionals } = parse(args, {}); const d = (await c.call('GET', `/v1/groups/${enc(one(positionals, 'group'))}`)) as Row; return print(values, d, () => groupTable([d])); }
    case 'create': {
      const { values, positionals } = parse(args, opts);
      const d = (await c.call('POST', '/v1/groups', defined({ name: one(positionals, 'NAME'), roles: values['role'], resources: resources(values['resource'] as string[] | undefined) }))) as Row;
      return print(values, d, () => groupTable([d]));
    }
    case 'update': {
      const { values, positionals } = parse(args, opts);
      const d = (await c.call('PATCH', `/v1/groups/${enc(one(positionals, 'group'))}`, defined({ roles: values['role'], resources: resources(values['resource'] as string[] | undefined) }))) as Row;
      return print(values, d, () => groupTable([d]));
    }
    case 'delete': { const { positionals } = parse(args, {}); await c.call('DELETE', `/v1/groups/${enc(one(positionals, 'group'))}`); return out('deleted'); }
    default: throw unknownVerb('groups', verb);
  }
}

async function webhooks(c: AdminClient, verb: string, args: string[]): Promise<void> {
  if (verb !== 'deliveries') throw unknownVerb('webhooks', verb);
  const { values } = parse(args, { status: { type: 'string' }, webhook: { type: 'string' }, event: { type: 'string' }, limit: { type: 'string' } });
  const q = new URLSearchParams(defined({ status: values['status'], webhook: values['webhook'], eventId: values['event'], limit: values['limit'] }) as Record<string, string>).toString();
  const d = (await c.call('GET', `/v1/webhooks/deliveries${q === '' ? '' : `?${q}`}`)) as { items: Row[] };
  print(values, d, () => table(['id', 'webhook', 'event', 'type', 'status', 'attempts', 'last status', 'last error', 'next attempt', 'created'],
    d.items.map((r) => [r['id'], r['webhook'], r['eventId'], r['eventType'], r['status'], String(r['attempts']), r['lastStatus'] === null ? '' : String(r['lastStatus']), r['lastError'], r['nextAttemptAt'], r['createdAt']] as string[])));
}

function unknownVerb(group: keyof typeof VERBS, verb: string): CliUsageError {
  const verbs = Object.keys(VERBS[group]);
  return new CliUsageError(`unknown verb "${group} ${verb}"${didYouMean(verb, verbs)}; ${group} takes ${verbs.join(', ')}`);
}

const GROUPS = { principals, keys, groups, webhooks } as const;
const wantsHelp = (args: string[]): boolean => {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
};

/** `keygate principals|keys|groups <verb> ...` over the admin API; `--help` at either level. */
export async function adminCommand(group: keyof typeof GROUPS, args: string[], target: AdminTarget = {}): Promise<CommandResult> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(commandHelp(group) ?? '');
    return verb === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!Object.hasOwn(VERBS[group], verb)) throw unknownVerb(group, verb);
  if (wantsHelp(rest)) {
    process.stdout.write(verbHelp(group, verb) ?? '');
    return EXIT.ok;
  }
  current = `${group} ${verb}`;
  await GROUPS[group](adminClientFromEnv(target), verb, rest);
  return EXIT.ok;
}
