import { checkSummary, servingModes } from '../check/modes.ts';
import type { ConfigProblem, GatewayConfig } from './types.ts';

/** One line per problem: `file:line:column: /path: reason`, the shape editors and CI annotate. */
export function formatProblems(problems: ConfigProblem[]): string {
  return problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`).join('\n');
}

function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

function storeKind(c: GatewayConfig): string {
  if (c.store.sentinel !== null) return `redis (sentinel "${c.store.sentinel.name}", ${c.store.sentinel.nodes.length} nodes)`;
  if (c.store.cluster !== null) return `redis (cluster, ${c.store.cluster.length} seed nodes)`;
  // The URL may carry a password: say which host, never the URL itself.
  if (c.store.redis !== '') return `redis (${redisHost(c.store.redis)})`;
  return 'embedded (in memory; keys issued at runtime are lost on restart)';
}

function redisHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'unparsable URL';
  }
}

function credentialStyles(c: GatewayConfig): string {
  const on = [
    c.credentials.bearer && 'bearer', c.tokens.enabled && `token (${c.tokens.path})`,
    c.credentials.apiKey.enabled && `apikey (${c.credentials.apiKey.scheme})`, c.credentials.serviceKey.enabled && 'service_key',
    c.credentials.body.enabled && `body (${c.credentials.body.field})`, c.credentials.query.enabled && `query (${c.credentials.query.param})`,
  ].filter((s): s is string => typeof s === 'string');
  return on.join(', ') || 'none';
}

/** What `keygate check-config` prints for a good file: what will run, never a hash or a secret. */
export function summarizeConfig(c: GatewayConfig): string {
  const routes = c.routes.map((r) => [
    r.name, r.methods.join(',') || 'any', r.hosts.join(',') || 'any', r.path, r.upstream ?? '(check only)',
    r.public ? 'public' : r.actions.join(' + ') + (r.resource === null ? '' : ` on ${r.resource.type}:${r.resource.param}`),
    // Decision mode: which listener and shapes can serve the route.
    ...(c.check.enabled ? [servingModes(r, c).join(',')] : []),
  ]);
  const check = checkSummary(c);
  const keyCount = c.principals.reduce((n, p) => n + p.keys.length, 0) + [...c.orgs.values()].reduce((n, o) => n + o.keys.length, 0);
  const upstreams = [...c.upstreams.values()].map((u) => `${u.name}=${u.url.origin}${u.url.pathname === '/' ? '' : u.url.pathname}`);
  return [
    `listen     ${c.server.host}:${c.server.port}   admin ${c.admin.host}:${c.admin.port}${c.admin.token === '' ? ' (no admin token)' : ''}`,
    `store      ${storeKind(c)}`,
    `styles     ${credentialStyles(c)}`,
    `upstreams  ${upstreams.join('  ') || 'none (decision-only)'}`,
    ...(check === null ? [] : [check]),
    '',
    table(['ROUTE', 'METHODS', 'HOST', 'PATH', 'UPSTREAM', 'ACCESS', ...(check === null ? [] : ['SERVED BY'])], routes),
    '',
    `${c.roles.size} roles, ${c.principals.length} declared principals, ${keyCount} declared keys, ${c.orgs.size} orgs`,
  ].join('\n');
}
