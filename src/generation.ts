import type { GatewayConfig } from './config/types.ts';
import type { Router } from './routing/types.ts';
import { compileRoutes } from './routing/match.ts';
import { Authorizer } from './authz/authorize.ts';
import type { GroupDirectory } from './authz/groups.ts';
import type { UpstreamPool, UpstreamPools } from './proxy/pools.ts';
import { createHasher, type Hasher } from './credentials/hash.ts';
import { TokenSigner } from './tokens/signer.ts';
import { stripAlgorithm } from './keystore/memory-store.ts';
import { BodyBudget } from './credentials/body-budget.ts';

/**
 * Everything derived from one config file load, built once and swapped in whole on reload.
 * A request holds on to the generation it started with, so in-flight requests finish on the
 * routes, roles and upstreams they began with.
 */
export interface Generation {
  /** Increments on every successful (re)load. */
  seq: number;
  config: GatewayConfig;
  router: Router;
  authorizer: Authorizer;
  pools: Map<string, UpstreamPool>;
  /** Secret → store key (SHA-256, or HMAC with the configured pepper). */
  hasher: Hasher;
  /** Short-lived token signing and verification with this generation's signing keys. */
  tokens: TokenSigner;
  /** Org keys declared in the config: hash → org name. */
  orgKeys: Map<string, string>;
  /** Body bytes being read for credentials right now (credentials.body.maxBufferedBytes). */
  bodyBudget: BodyBudget;
}

export function buildGeneration(config: GatewayConfig, seq: number, pools: UpstreamPools, groups: GroupDirectory | null = null): Generation {
  return {
    seq,
    config,
    router: compileRoutes(config.routes, config.upstreams, { caseSensitive: config.server.caseSensitivePaths }),
    authorizer: new Authorizer(config.roles, groups),
    pools: pools.forGeneration(config.upstreams),
    hasher: createHasher(config.keys.pepper),
    tokens: new TokenSigner(config.tokens),
    orgKeys: new Map([...config.orgs.values()].flatMap((o) => o.keys.map((k) => [stripAlgorithm(k.hash), o.name] as const))),
    bodyBudget: new BodyBudget(config.credentials.body.maxBufferedBytes),
  };
}
