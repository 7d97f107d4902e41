import type { ConfigProblem, GatewayConfig } from './types.ts';

/** One line per problem: `file:line:column: /path: reason` (editors and CI annotate these). */
export function formatProblems(problems: ConfigProblem[]): string {
  return problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`).join('\n');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** What `keygate check-config` prints for a good file. Never a hash or a secret. */
export function summarizeConfig(c: GatewayConfig): string {
  const store = c.store.redis !== '' ? 'redis' : c.store.sentinel !== null ? 'redis (sentinel)' : c.store.cluster !== null ? 'redis (cluster)' : 'embedded (in memory)';
  const styles = [
    c.credentials.bearer && 'bearer', c.tokens.enabled && 'token', c.credentials.apiKey.enabled && `apikey (${c.credentials.apiKey.scheme})`,
    c.credentials.serviceKey.enabled && 'service_key', c.credentials.body.enabled && `body (${c.credentials.body.field})`, c.credentials.query.enabled && 'query',
  ].filter(Boolean).join(', ');
  const routes = [['ROUTE', 'METHODS', 'HOST', 'PATH', 'UPSTREAM', 'ACCESS'], ...c.routes.map((r) => [
    r.name, r.methods.join(',') || 'any', r.hosts.join(',') || 'any', r.path, r.upstream,
    r.public ? 'public' : r.actions.join(' + ') + (r.resource === null ? '' : ` on ${r.resource.type}:${r.resource.param}`),
  ])];
  const keyCount = c.principals.reduce((n, p) => n + p.keys.length, 0);
  return [
    `listen   ${c.server.host}:${c.server.port}   admin ${c.admin.host}:${c.admin.port}`,
    `store    ${store}`,
    `styles   ${styles || 'none'}`,
    `upstreams ${[...c.upstreams.values()].map((u) => `${u.name}=${u.url.origin}${u.url.pathname === '/' ? '' : u.url.pathname}`).join('  ')}`,
    '',
    table(routes),
    '',
    `${c.roles.size} roles, ${c.principals.length} declared principals, ${keyCount} declared keys, ${c.orgs.size} orgs`,
  ].join('\n');
}
