import { parseArgs, type ParseArgsConfig } from 'node:util';
import { text } from 'node:stream/consumers';
import { adminClientFromEnv, type AdminClient } from './admin-client.ts';
import { table } from './table.ts';
import { EXIT, type CommandResult } from './exit-codes.ts';
import { CliUsageError } from './usage-error.ts';
import { keysUsage } from './audit.ts';

export { CliUsageError };

type Values = Record<string, string | boolean | string[] | undefined>;
type Row = Record<string, unknown>;

const JSON_FLAG = { json: { type: 'boolean' } } as const;

function parse(args: string[], options: ParseArgsConfig['options']): { values: Values; positionals: string[] } {
  const r = parseArgs({ args, options: { ...JSON_FLAG, ...options }, allowPositionals: true, strict: true });
  return { values: r.values as Values, positionals: r.positionals };
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

function principalTable(items: Row[]): string {
  return table(['id', 'name', 'kind', 'roles', 'groups', 'org', 'disabled', 'source'],
    items.map((p) => [p['id'], p['name'], p['kind'], (p['roles'] as string[]).join(','), (p['groups'] as string[]).join(','), p['org'] as string, p['disabled'] as boolean, p['source']] as string[]));
}

function keyTable(items: Row[]): string {
  // Lists carry 7-day request counts (null: the usage store could not be read: shown as "?").
  const week = items.some((k) => 'requests7d' in k);
  const columns = ['id', 'principal', 'name', 'prefix', 'status', 'expires', 'last used', ...(week ? ['7d requests'] : []), 'purpose'];
  return table(columns, items.map((k) => [k['id'], k['principalId'], k['name'], k['prefix'], k['status'], k['expiresAt'], k['lastUsedAt'],
    ...(week ? [k['requests7d'] === null ? '?' : String(k['requests7d'])] : []), k['purpose']] as string[]));
}

function groupTable(items: Row[]): string {
  return table(['name', 'roles', 'resources'], items.map((g) => [g['name'] as string, (g['roles'] as string[]).join(','),
    Object.entries(g['resources'] as Record<string, string[]>).map(([t, ids]) => `${t}:${ids.join('|')}`).join(' ')]));
}

function secretNotice(values: Values, data: { key: Row; secret: string; notice: string }): void {
  if (values['json'] === true) return out(JSON.stringify(data, null, 2));
  out(keyTable([data.key]));
  out(`\nsecret: ${data.secret}`);
  process.stderr.write(`\n${data.notice}\n`);
}

async function principals(c: AdminClient, verb: string, args: string[]): Promise<void> {
  const listOpts = { role: { type: 'string', multiple: true }, group: { type: 'string', multiple: true }, org: { type: 'string' }, meta: { type: 'string', multiple: true } } as const;
  switch (verb) {
    case 'list': { const { values } = parse(args, {}); const d = (await c.call('GET', '/v1/principals')) as { items: Row[] }; return print(values, d, () => principalTable(d.items)); }
    case 'show': { const { values, positionals } = parse(args, {}); const d = (await c.call('GET', `/v1/principals/${enc(one(positionals, 'principal'))}`)) as Row; return print(values, d, () => principalTable([d])); }
    case 'create': {
      const { values, positionals } = parse(args, { kind: { type: 'string' }, ...listOpts });
      const body = defined({ name: one(positionals, 'NAME'), kind: values['kind'] ?? 'user', roles: values['role'], groups: values['group'], org: values['org'],
        metadata: values['meta'] === undefined ? undefined : pairs(values['meta'] as string[], 'meta') });
      const d = (await c.call('POST', '/v1/principals', body)) as Row; return print(values, d, () => principalTable([d]));
    }
    case 'update': {
      const { values, positionals } = parse(args, listOpts);
      const body = defined({ roles: values['role'], groups: values['group'], org: values['org'], metadata: values['meta'] === undefined ? undefined : pairs(values['meta'] as string[], 'meta') });
      const d = (await c.call('PATCH', `/v1/principals/${enc(one(positionals, 'principal'))}`, body)) as Row; return print(values, d, () => principalTable([d]));
    }
    case 'disable': case 'enable': {
      const { values, positionals } = parse(args, {});
      const d = (await c.call('POST', `/v1/principals/${enc(one(positionals, 'principal'))}/${verb}`)) as Row; return print(values, d, () => principalTable([d]));
    }
    case 'delete': { const { positionals } = parse(args, {}); await c.call('DELETE', `/v1/principals/${enc(one(positionals, 'principal'))}`); return out('deleted'); }
    default: throw new CliUsageError(`unknown verb "principals ${verb}" (list, show, create, update, disable, enable, delete)`);
  }
}

async function keys(c: AdminClient, verb: string, args: string[]): Promise<void> {
  const createOpts = { principal: { type: 'string' }, name: { type: 'string' }, purpose: { type: 'string' }, 'expires-in': { type: 'string' }, scope: { type: 'string', multiple: true } } as const;
  switch (verb) {
    case 'list': {
      const { values } = parse(args, { principal: { type: 'string' }, status: { type: 'string' } });
      const q = new URLSearchParams(defined({ principal: values['principal'], status: values['status'] }) as Record<string, string>).toString();
      const d = (await c.call('GET', `/v1/keys${q === '' ? '' : `?${q}`}`)) as { items: Row[] }; return print(values, d, () => keyTable(d.items));
    }
    case 'show': { const { values, positionals } = parse(args, {}); const d = (await c.call('GET', `/v1/keys/${enc(one(positionals, 'key id'))}`)) as Row; return print(values, d, () => keyTable([d])); }
    case 'usage': return keysUsage(c, args);
    case 'create': {
      const { values, positionals } = parse(args, { ...createOpts, type: { type: 'string' } });
      if (positionals.length > 0) throw new CliUsageError('keys create takes no positional arguments; use --principal');
      if (values['principal'] === undefined) throw new CliUsageError('keys create needs --principal');
      const body = defined({ principal: values['principal'], name: values['name'], purpose: values['purpose'], expiresIn: values['expires-in'], scopes: values['scope'], type: values['type'] });
      return secretNotice(values, (await c.call('POST', '/v1/keys', body)) as { key: Row; secret: string; notice: string });
    }
    case 'import': {
      const { values } = parse(args, createOpts);
      if (values['principal'] === undefined) throw new CliUsageError('keys import needs --principal (the secret is read from stdin)');
      const secret = (await text(process.stdin)).replace(/\r?\n$/, '');
      const body = defined({ principal: values['principal'], secret, name: values['name'], purpose: values['purpose'], expiresIn: values['expires-in'], scopes: values['scope'] });
      const d = (await c.call('POST', '/v1/keys/import', body)) as Row; return print(values, d, () => keyTable([d]));
    }
    case 'update': {
      const { values, positionals } = parse(args, { name: { type: 'string' }, purpose: { type: 'string' } });
      const d = (await c.call('PATCH', `/v1/keys/${enc(one(positionals, 'key id'))}`, defined({ name: values['name'], purpose: values['purpose'] }))) as Row;
      return print(values, d, () => keyTable([d]));
    }
    case 'expire': { const { values, positionals } = parse(args, {}); const d = (await c.call('POST', `/v1/keys/${enc(one(positionals, 'key id'))}/expire`)) as Row; return print(values, d, () => keyTable([d])); }
    case 'rotate': {
      const { values, positionals } = parse(args, { grace: { type: 'string' } });
      const d = (await c.call('POST', `/v1/keys/${enc(one(positionals, 'key id'))}/rotate`, defined({ grace: values['grace'] })));
      return secretNotice(values, d as { key: Row; secret: string; notice: string });
    }
    case 'delete': { const { positionals } = parse(args, {}); await c.call('DELETE', `/v1/keys/${enc(one(positionals, 'key id'))}`); return out('deleted'); }
    default: throw new CliUsageError(`unknown verb "keys ${verb}" (list, show, usage, create, import, update, expire, rotate, delete)`);
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
    case 'list': { const { values } = parse(args, {}); const d = (await c.call('GET', '/v1/groups')) as { items: Row[] }; return print(values, d, () => groupTable(d.items)); }
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
    default: throw new CliUsageError(`unknown verb "groups ${verb}" (list, show, create, update, delete)`);
  }
}

const GROUPS = { principals, keys, groups } as const;

/** `keygate principals|keys|groups <verb> ...` over the admin API. */
export async function adminCommand(group: keyof typeof GROUPS, args: string[]): Promise<CommandResult> {
  const [verb, ...rest] = args;
  if (verb === undefined) throw new CliUsageError(`"${group}" needs a verb; see keygate --help`);
  await GROUPS[group](adminClientFromEnv(), verb, rest);
  return EXIT.ok;
}
