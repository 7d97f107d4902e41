import { loadConfigFile } from '../config/load.ts';
import { formatProblems, summarizeConfig } from '../config/format.ts';
import type { ConfigProblem, GatewayConfig } from '../config/types.ts';
import type { UnsetVariable } from '../config/placeholders.ts';
import { shadowedRoutes } from '../routing/shadow.ts';
import { servingModes, unservableRoutes } from '../check/modes.ts';
import { EXIT, type CommandResult } from './exit-codes.ts';

export interface CheckConfigOptions {
  /** One JSON document on stdout instead of text. @default false */
  json?: boolean;
  /** Stand-ins for unset `${VAR}`s, listed rather than failing. @default false */
  placeholders?: boolean;
}

/** Config-level warnings: valid, but probably not what was meant. */
function warnings(config: GatewayConfig): ConfigProblem[] {
  return [...shadowedRoutes(config.routes, { caseSensitive: config.server.caseSensitivePaths }), ...unservableRoutes(config)]
    .map((s) => ({ file: config.file, line: s.route.line, column: 1, path: '/routes', message: s.message }));
}

function summaryJson(c: GatewayConfig): Record<string, unknown> {
  return {
    listen: `${c.server.host}:${c.server.port}`,
    admin: `${c.admin.host}:${c.admin.port}`,
    adminToken: c.admin.token !== '',
    upstreams: Object.fromEntries([...c.upstreams.values()].map((u) => [u.name, u.url.origin + (u.url.pathname === '/' ? '' : u.url.pathname)])),
    check: c.check.enabled
      ? { listen: `${c.check.host}:${c.check.port}`, grpc: c.check.grpcPort === null ? null : `${c.check.host}:${c.check.grpcPort}`, pathPrefix: c.check.pathPrefix, trustedClients: c.check.trustedClients }
      : null,
    // `servedBy`: the proxy and the check shapes that can serve the route (docs/forward-auth.md).
    routes: c.routes.map((r) => ({ name: r.name, line: r.line, methods: r.methods, hosts: r.hosts, path: r.path, upstream: r.upstream, public: r.public, actions: r.actions, servedBy: servingModes(r, c) })),
    roles: c.roles.size,
    principals: c.principals.length,
  };
}

function unsetLines(file: string, unset: UnsetVariable[]): string {
  return unset.map((u) => `${file}:${u.line}: ${u.path}: \${${u.name}} is not set; checked with the stand-in "${u.placeholder}"`).join('\n');
}

/**
 * `keygate check-config FILE [--json] [--placeholders]`: exit 0 when the file would load (warnings
 * and, under --placeholders, unset variables are reported but do not fail it), 3 when not.
 */
export async function checkConfigCommand(file: string, opts: CheckConfigOptions = {}): Promise<CommandResult> {
  const result = await loadConfigFile(file, process.env, { placeholders: opts.placeholders === true });
  const unset = result.unset ?? [];
  const warned = result.ok ? warnings(result.config) : [];
  const shown = result.ok ? result.config.file : (result.problems[0]?.file ?? file);
  if (opts.json === true) {
    process.stdout.write(`${JSON.stringify({
      ok: result.ok, file: shown,
      problems: result.ok ? [] : result.problems,
      warnings: warned,
      unsetVariables: unset,
      ...(result.ok ? { summary: summaryJson(result.config) } : {}),
    }, null, 2)}\n`);
    return result.ok ? EXIT.ok : EXIT.invalidConfig;
  }
  if (unset.length > 0) process.stderr.write(`${unsetLines(shown, unset)}\n`);
  if (!result.ok) {
    const names = [...new Set(result.problems.flatMap((p) => /environment variable (\w+) is not set/.exec(p.message)?.[1] ?? []))];
    const hint = names.length === 0 ? '' : `\nunset: ${names.join(', ')}. Set them, or run "keygate check-config --placeholders ${file}" to check the rest with stand-ins.`;
    process.stderr.write(`${formatProblems(result.problems)}\n${result.problems.length} problem(s) in ${file}${hint}\n`);
    return EXIT.invalidConfig;
  }
  if (warned.length > 0) process.stderr.write(`${warned.map((w) => `${w.file}:${w.line}: warning: ${w.message}`).join('\n')}\n`);
  process.stdout.write(`${summarizeConfig(result.config)}\n${file}: OK${warned.length > 0 ? ` (${warned.length} warning(s))` : ''}${unset.length > 0 ? ` with ${unset.length} placeholder(s)` : ''}\n`);
  return EXIT.ok;
}
