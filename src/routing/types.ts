import type { RouteConfig, UpstreamConfig } from '../config/types.ts';

/** A request target after `normalizeTarget`: the one path used for matching and forwarding. */
export interface NormalizedTarget {
  /** Normalized path, always starting with `/`. */
  path: string;
  /** Raw query string including the leading `?`, or "" when absent. Forwarded untouched. */
  query: string;
}

export interface RouteMatch {
  route: RouteConfig;
  /** Null on a decision-only route: the proxy refuses it (route_without_upstream), the check listener decides it. */
  upstream: UpstreamConfig | null;
  /** Values of `:param` segments, as they appear in the normalized path. */
  params: Record<string, string>;
}

export interface Router {
  /** First route, in file order, whose method, host and path all match; null when none does. */
  match(method: string, host: string, path: string): RouteMatch | null;
}
