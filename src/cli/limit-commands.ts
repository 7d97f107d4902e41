import type { AdminClient } from './admin-client.ts';
import { parseCommand, type Values } from './args.ts';
import { table } from './table.ts';
import { CliUsageError } from './usage-error.ts';

type Row = Record<string, unknown>;
const out = (s: string): void => void process.stdout.write(`${s}\n`);

/** `keygate keys|principals limits`: help text, kept beside the code (help.ts spreads it in). */
export const LIMIT_VERBS = (group: 'keys' | 'principals') => {
  const what = group === 'keys' ? 'ID' : 'ID|NAME';
  const own = group === 'keys' ? 'the key' : 'the principal (all its keys)';
  return {
    limits: {
      usage: `keygate ${group} limits ${what} [--policy NAME | --rate 100/s [--burst N] [--per key|principal|org] | --clear-limit] [--quota N --period day|month|none | --clear-quota] [--reset-quota [--remaining N]]`,
      summary: `show ${own}'s limit in force and what is left of each quota; the flags override them (docs/limits.md)`,
      options: [
        '--policy NAME          use this policy from the config\'s limits',
        '--rate R               a policy of its own: 100/s, 5000/h (with --burst, --per)',
        '--clear-limit          remove the override: the config\'s limits apply again',
        '--quota N              requests per --period (day, month (default) or none: never refilled)',
        '--clear-quota          remove the quota override',
        '--reset-quota          set what is left this period: all of it, or --remaining N',
        '--json                 print JSON',
      ],
    },
  };
};

function quotaTable(items: Row[]): string {
  return table(['quota', 'requests', 'period', 'used', 'remaining', 'resets'], items.map((q) => [
    q['name'] as string, String(q['requests']), q['period'] as string, String(q['used']), String(q['remaining']), (q['resetsAt'] as string | null) ?? 'never',
  ]));
}

function limitsText(d: Row): string {
  const l = d['limit'] as Row | null;
  const head = l === null ? 'limit: none' : `limit: ${String(l['policy'])} (${String(l['rate'])}, burst ${String(l['burst'] ?? 'default')}, per ${String(l['per'])}; from ${String(l['source'])})`;
  const quotas = d['quotas'] as Row[];
  return quotas.length === 0 ? `${head}\nquotas: none` : `${head}\n${quotaTable(quotas)}`;
}

/** The override body from the flags; null when no override flag was given. */
function overrideBody(v: Values): Record<string, unknown> | null {
  const body: Record<string, unknown> = {};
  const chosen = [v['policy'] !== undefined, v['rate'] !== undefined, v['clear-limit'] === true].filter(Boolean).length;
  if (chosen > 1) throw new CliUsageError('choose one of --policy, --rate and --clear-limit');
  if (v['policy'] !== undefined) body['limit'] = v['policy'];
  if (v['rate'] !== undefined) {
    body['limit'] = {
      rate: v['rate'],
      ...(v['burst'] === undefined ? {} : { burst: Number(v['burst']) }),
      ...(v['per'] === undefined ? {} : { per: v['per'] }),
    };
  }
  if (v['clear-limit'] === true) body['limit'] = null;
  if (v['quota'] !== undefined && v['clear-quota'] === true) throw new CliUsageError('choose one of --quota and --clear-quota');
  if (v['quota'] !== undefined) {
    const n = Number(v['quota']);
    if (!Number.isInteger(n) || n < 1) throw new CliUsageError(`--quota takes a whole number of requests, got "${String(v['quota'])}"`);
    body['quota'] = { requests: n, period: v['period'] ?? 'month' };
  }
  if (v['clear-quota'] === true) body['quota'] = null;
  return Object.keys(body).length === 0 ? null : body;
}

export async function limitsCommand(c: AdminClient, group: 'keys' | 'principals', args: string[], verbName: string): Promise<void> {
  const { values, positionals } = parseCommand(args, {
    policy: { type: 'string' }, rate: { type: 'string' }, burst: { type: 'string' }, per: { type: 'string' }, 'clear-limit': { type: 'boolean' },
    quota: { type: 'string' }, period: { type: 'string' }, 'clear-quota': { type: 'boolean' }, 'reset-quota': { type: 'boolean' }, remaining: { type: 'string' },
  }, verbName);
  if (positionals.length !== 1) throw new CliUsageError(`expected exactly one ${group === 'keys' ? 'key id' : 'principal'}`);
  const base = `/v1/${group}/${encodeURIComponent(positionals[0] as string)}`;
  const body = overrideBody(values);
  let d = (await c.call(body === null ? 'GET' : 'PATCH', `${base}/limits`, body ?? undefined)) as Row;
  if (values['reset-quota'] === true) {
    const remaining = values['remaining'] === undefined ? {} : { remaining: Number(values['remaining']) };
    d = (await c.call('POST', `${base}/quota/reset`, remaining)) as Row;
  }
  out(values['json'] === true ? JSON.stringify(d, null, 2) : limitsText(d));
}
