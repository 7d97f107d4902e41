import type { GatewayConfig, RouteConfig } from '../config/types.ts';

/** Where a route can be served: the proxy, or one of the check listener's shapes. */
export type ServingMode = 'proxy' | 'nginx' | 'forward' | 'envoy-http' | 'envoy-grpc';

/**
 * The modes that can serve a route (`keygate check-config`): the proxy when it has an upstream;
 * the check shapes when `check` is on, except that a route reading `body` credentials is
 * refused by the shapes that never carry the body (nginx `auth_request`, Traefik, Caddy), and
 * by Envoy's unless `check.withRequestBody` says Envoy buffers it.
 */
export function servingModes(route: RouteConfig, config: GatewayConfig): ServingMode[] {
  const out: ServingMode[] = [];
  if (route.upstream !== null) out.push('proxy');
  const check = config.check;
  if (!check.enabled) return out;
  const bodyless = route.public || !route.accepts.has('body');
  if (bodyless) out.push('nginx', 'forward');
  // Envoy sends the body only with with_request_body, believed only with check.withRequestBody.
  if (!bodyless && !check.withRequestBody) return out;
  out.push('envoy-http');
  if (check.grpcPort !== null) out.push('envoy-grpc');
  return out;
}

/** One line on the check listener for the text summary; null when it is off. */
export function checkSummary(config: GatewayConfig): string | null {
  const c = config.check;
  if (!c.enabled) return null;
  const grpc = c.grpcPort === null ? '' : `   gRPC ${c.host}:${c.grpcPort}`;
  return `check      ${c.host}:${c.port} (/check, Envoy HTTP under ${c.pathPrefix}/)${grpc}   trusted ${c.trustedClients.join(', ')}`;
}

/**
 * Routes nothing can serve: decision-only (no upstream) and refused by every check shape — a
 * `body`-credential route while `check.withRequestBody` is off. Valid config, never an allowed
 * request: `check-config` warns.
 */
export function unservableRoutes(config: GatewayConfig): { route: RouteConfig; message: string }[] {
  return config.routes.filter((r) => servingModes(r, config).length === 0).map((route) => ({
    route,
    message: `route "${route.name}" can never be allowed: it has no upstream, and it reads body credentials, which only Envoy sends and only check.withRequestBody: true believes (docs/forward-auth.md)`,
  }));
}
