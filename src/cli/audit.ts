import { adminClientFromEnv, type AdminClient, type AdminTarget } from './admin-client.ts';
import { parseCommand } from './args.ts';
import { CliUsageError } from './usage-error.ts';
import { EXIT, type CommandResult } from './exit-codes.ts';
import { table } from './table.ts';
import { csvHeader, toCsv } from '../audit/csv.ts';
import type { StoredAuditEvent } from '../audit/event.ts';
import type { AuditPage } from '../audit/query.ts';
import type { DayCount } from '../usage/counter.ts';
import { parseDuration } from '../config/duration.ts';

const out = (s: string): void => void process.stdout.write(s);
const PAGE = 1000;

function humanTable(items: StoredAuditEvent[], header: boolean): string {
  const t = table(['time', 'decision', 'reason', 'status', 'principal', 'key', 'route', 'method', 'path', 'action', 'target', 'client'],
    items.map((e) => [e.time, e.decision, e.reason, e.status, e.principalName ?? e.principalId, e.keyId, e.route, e.method, e.path, e.action, e.target, e.client]));
  return `${header ? t : t.slice(t.indexOf('\n') + 1)}\n`;
}

/**
 * `keygate audit [--principal P] [--key ID] [--route R] [--decision D] [--kind K] [--since 24h]
 * [--until T] [--limit N] [--format table|csv|json]`: newest first, following the API's pages
 * until the trail (or --limit) is exhausted. Each page is written as it arrives, so an export of
 * any size runs in bounded memory; CSV and JSON are rendered here from the same JSON pages the
 * API serves (one client path), CSV by the same code as the API's `format=csv`.
 */
export async function auditCommand(args: string[], target: AdminTarget = {}, client: AdminClient = adminClientFromEnv(target)): Promise<CommandResult> {
  const { values: v, positionals } = parseCommand(args, {
    principal: { type: 'string' }, key: { type: 'string' }, route: { type: 'string' }, decision: { type: 'string' }, kind: { type: 'string' },
    since: { type: 'string' }, until: { type: 'string' }, limit: { type: 'string' }, format: { type: 'string' },
  }, 'audit');
  const values = v as { [k: string]: string | undefined } & { json?: boolean };
  if (positionals.length > 0) throw new CliUsageError('audit takes no positional arguments');
  const format = values.json === true ? 'json' : (values.format ?? 'table');
  if (!['table', 'csv', 'json'].includes(format)) throw new CliUsageError('--format: table, csv or json');
  let remaining = Infinity;
  if (values.limit !== undefined) {
    if (!/^[1-9][0-9]{0,8}$/.test(values.limit)) throw new CliUsageError('--limit: a positive integer (events in all)');
    remaining = Number(values.limit);
  }
  const base = new URLSearchParams();
  for (const name of ['principal', 'key', 'route', 'decision', 'kind', 'since', 'until'] as const) {
    const v = values[name];
    if (v === undefined) continue;
    // `--since 24h` is fixed to a time now: re-sent as "24h" with every page, it would creep forward.
    const ago = name === 'since' || name === 'until' ? parseDuration(v) : null;
    base.set(name, ago === null ? v : new Date(Date.now() - ago).toISOString());
  }

  let cursor: string | null = null;
  let written = 0;
  if (format === 'json') out('[');
  if (format === 'csv') out(csvHeader());
  do {
    const q = new URLSearchParams(base);
    q.set('limit', String(Math.min(PAGE, remaining)));
    if (cursor !== null) q.set('cursor', cursor);
    const page = (await client.call('GET', `/v1/audit?${q.toString()}`)) as AuditPage;
    const items = page.items.slice(0, remaining);
    if (format === 'csv') out(toCsv(items, false));
    else if (format === 'json') out(items.map((e, i) => `${written + i === 0 ? '\n' : ',\n'}${JSON.stringify(e)}`).join(''));
    else if (items.length > 0) out(humanTable(items, written === 0));
    written += items.length;
    remaining -= items.length;
    cursor = page.nextCursor;
  } while (cursor !== null && remaining > 0);
  if (format === 'json') out(written === 0 ? ']\n' : '\n]\n');
  if (format === 'table' && written === 0) process.stderr.write('no audit events match\n');
  return EXIT.ok;
}

/** `keygate keys usage ID [--days N] [--json]`: requests per UTC day, oldest first. */
export async function keysUsage(client: AdminClient, args: string[]): Promise<void> {
  const { values: v, positionals } = parseCommand(args, { days: { type: 'string' } }, 'keys usage');
  const values = v as { days?: string; json?: boolean };
  if (positionals.length !== 1) throw new CliUsageError('expected exactly one key id');
  const q = values.days === undefined ? '' : `?days=${encodeURIComponent(values.days)}`;
  const d = (await client.call('GET', `/v1/keys/${encodeURIComponent(positionals[0] as string)}/usage${q}`)) as { keyId: string; days: DayCount[]; total: number };
  if (values.json === true) return out(`${JSON.stringify(d, null, 2)}\n`);
  out(`${table(['date', 'requests'], [...d.days.map((x) => [x.date, x.count]), ['total', d.total]])}\n`);
}
