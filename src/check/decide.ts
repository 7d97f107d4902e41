import type { DecisionContext } from '../context.ts';
import type { Generation } from '../generation.ts';
import type { TrustedPeers } from '../config/types.ts';
import type { KeyResolver } from '../keystore/resolve.ts';
import type { KeyRecord } from '../keystore/types.ts';
import { errorBody, GatewayError, toGatewayError } from '../errors.ts';
import { decisionStages, frontStages, type GatewayDeps } from '../gateway.ts';
import { runStages, type Stage } from '../stages.ts';
import { identityHeaders, isIdentityHeader } from '../identity/headers.ts';
import { requestIdOf } from '../log/request-id.ts';
import { must } from '../must.ts';
import { originalRequest } from './view.ts';
import { isMethodOverride, TARGET_OVERRIDES } from '../proxy/override-headers.ts';
import { clientOf } from '../proxy/client-address.ts';

/** Which proxy shape asked; the bounded `mode` label of the check metrics. */
export type CheckMode = 'nginx' | 'forward' | 'envoy-http' | 'envoy-grpc';
export const CHECK_MODES: readonly CheckMode[] = ['nginx', 'forward', 'envoy-http', 'envoy-grpc'];

export interface CheckInput {
  mode: CheckMode;
  /** The original method; undefined or not a token is a refusal, never a decision about something else. */
  method: string | undefined;
  /** The original request-target (origin-form path and query); undefined or not origin-form is a refusal. */
  uri: string | undefined;
  /** The original Host, when the shape carries it apart from the headers (X-Forwarded-Host, :authority). */
  host?: string;
  proto?: string;
  /** The original request headers, lower-case names (the credential lives here). */
  headers: Record<string, string | string[] | undefined>;
  /** The original body, only when the proxy sends it (Envoy `with_request_body`); absent: not sent. */
  body?: Buffer | null;
  /** Peer address of the check request, matched against `check.trustedClients`. */
  clientAddress: string;
  /** Set by a shape that found the check request unusable (say, two original URIs): refused with this message. */
  problem?: string;
}

export type CheckDecision =
  | {
    allowed: true;
    /** Identity header name (as configured, e.g. X-Authenticated-User) → value; empty on a public route. */
    identity: Record<string, string>;
    /** Lower-case names the proxy must remove before the backend: the credential and client-sent identity headers. */
    removeHeaders: string[];
    /** X-Request-Id of the decision (the original request's when well-formed). */
    requestId: string;
  }
  | {
    allowed: false;
    status: number;
    code: string;
    /** The proxy's JSON error body. */
    body: string;
    /** WWW-Authenticate and the like, lower-case names. */
    headers: Record<string, string>;
    requestId: string;
  };

export interface Decider {
  /**
   * The decision; synchronous when every stage was (a cached key, no limiter lease to wait
   * for): the answer is then written in the same tick that parsed the check request, with no
   * promise and no microtask per decision.
   */
  decide(input: CheckInput): CheckDecision | Promise<CheckDecision>;
}

export interface DeciderDeps extends Pick<GatewayDeps, 'limiter' | 'onLimited' | 'onCredentialsLimited'> {
  current: () => Generation;
  resolver: KeyResolver;
  onAuthenticated?: (key: KeyRecord, now: number) => void;
  /** Once per decision, off the answer's path: access log, audit trail, metrics. */
  onDecided: (ctx: DecisionContext, mode: CheckMode, decision: CheckDecision) => void;
  /** A request from outside `check.trustedClients` was refused. */
  onUntrusted?: (mode: CheckMode) => void;
  onFault?: (ctx: DecisionContext, err: GatewayError) => void;
}

/**
 * `check.trustedClients` answers per peer address, remembered per config generation: the
 * proxies that ask are few and keep their connections, and BlockList.check is not free.
 */
function trustCache() {
  const byList = new WeakMap<TrustedPeers, Map<string, boolean>>();
  return (list: TrustedPeers, address: string): boolean => {
    let seen = byList.get(list);
    if (seen === undefined) byList.set(list, (seen = new Map()));
    let ok = seen.get(address);
    if (ok === undefined) {
      // Bounded: a flood of distinct peers only costs lookups, never memory.
      if (seen.size >= 1024) seen.clear();
      seen.set(address, (ok = list.has(address)));
    }
    return ok;
  };
}

/** The shapes whose proxy removes the headers an allowed answer lists (x-envoy-auth-headers-to-remove, headers_to_remove). */
const REMOVES_HEADERS: ReadonlySet<CheckMode> = new Set(['envoy-http', 'envoy-grpc']);

/** RFC 9110 §9.1: a method is a token. */
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;

function originalMissing(what: string): GatewayError {
  return new GatewayError('check_original_missing', `The check request names no valid original ${what}`);
}

/**
 * Stage: a route that reads a credential from the body cannot be decided without the body. A
 * header key alone is not enough either: the proxy would pass on a body whose `userKey` nobody
 * checked (the confused deputy extract.ts guards against).
 */
function requireBody(ctx: DecisionContext): void {
  const route = must(ctx.match, 'matchRoute ran first').route;
  if (route.public || !route.accepts.has('body') || ctx.body !== null) return;
  if (!ctx.gen.config.check.withRequestBody) {
    throw new GatewayError('check_body_unavailable', 'This route reads a credential from the request body; check.withRequestBody is off, so no proxy\'s body is believed');
  }
  throw new GatewayError('check_body_unavailable');
}

/** Header names of the credential that decided, for the proxy to remove. */
function credentialHeaders(ctx: DecisionContext): string[] {
  const out: string[] = [];
  if (ctx.credential?.source.kind === 'header') out.push(ctx.credential.source.name);
  if (ctx.orgKey?.source.kind === 'header') out.push(ctx.orgKey.source.name);
  return out;
}

/**
 * Builds the decision seam every check shape (src/check/http.ts, the gRPC service) calls: the
 * proxy's own front and decision stages, run on the original request the check describes, with
 * "answer with the identity" where the proxy would forward.
 */
export function createDecider(deps: DeciderDeps): Decider {
  const chain: Stage[] = [...frontStages, ...decisionStages(deps, [requireBody])];
  const trusted = trustCache();

  function newContext(input: CheckInput, gen: Generation): DecisionContext {
    const hostHeader = input.headers['host'];
    const host = input.host ?? (Array.isArray(hostHeader) ? hostHeader[0] : hostHeader);
    // The original client, as the proxy asking appended it to X-Forwarded-For (the asking peer is
    // trusted once it passed check.trustedClients): what the refused-credential limit counts per
    // address and the access log and audit trail show, rather than the proxy's one address.
    const xff = input.headers['x-forwarded-for'];
    const client = xff === undefined ? input.clientAddress : clientOf(Array.isArray(xff) ? xff.join(',') : xff, input.clientAddress, gen.config.check.trusted);
    const req = originalRequest({
      method: input.method ?? '', uri: input.uri ?? '', host, headers: input.headers, body: input.body, clientAddress: client,
    });
    return {
      id: requestIdOf(req, gen.config), start: process.hrtime.bigint(), gen, req, res: undefined, expectContinue: false,
      path: '', query: '', match: null, credential: null, malformedStyle: null, orgKey: null, org: null,
      // A body the proxy sent is the body the stages read; null says "not sent" to requireBody.
      // Only with check.withRequestBody: Envoy's "whole body" mark is a request header, and
      // where Envoy buffers nothing it is whatever the client sent (an empty body would then let
      // a header key decide a route whose body's userKey nobody checked).
      body: gen.config.check.withRequestBody ? input.body ?? null : null,
      principal: null, key: null, errorCode: null,
      authNs: null, upstreamStart: null, forwarded: false, upstreamError: null, upstreamRetry: null,
      methodOverride: null, headerDrops: null,
    };
  }

  function allowed(ctx: DecisionContext, input: CheckInput): CheckDecision {
    const cfg = ctx.gen.config.identity;
    const identity: Record<string, string> = {};
    if (ctx.principal !== null && ctx.key !== null && ctx.match?.route.public !== true) {
      const flat = identityHeaders(cfg, ctx.principal, ctx.key);
      for (let i = 0; i < flat.length; i += 2) identity[flat[i] as string] = flat[i + 1] as string;
    }
    const remove = credentialHeaders(ctx);
    let overrides: string[] | null = null;
    let spoofs: string[] | null = null;
    const headers = input.headers;
    for (const name in headers) {
      // CGI-style backends (WSGI, Rack, PHP) read `_` as `-`, and PHP `.` as `_` too.
      const folded = name.includes('_') || name.includes('.') ? name.replace(/[_.]/g, '-') : name;
      if (isIdentityHeader(folded, cfg)) {
        if (!remove.includes(name)) remove.push(name);
        // The exact name is overwritten by what the proxy copies from this answer; a spelling
        // that only folds onto it is not, and would reach the backend beside the real one.
        if (folded !== name) (spoofs ??= []).push(name);
      }
      // The proxy removes these before forwarding (proxy/override-headers.ts); a method override
      // stays only where the route honoured it, and then it is the method that was authorized.
      if (TARGET_OVERRIDES.has(folded) || (isMethodOverride(folded) && ctx.methodOverride === null)) (overrides ??= []).push(name);
    }
    if (spoofs !== null && !REMOVES_HEADERS.has(input.mode)) {
      throw new GatewayError('check_identity_spelling', `The request carries ${spoofs.join(', ')}, which this proxy would pass to the backend beside the identity`);
    }
    if (overrides !== null) {
      // Envoy removes what the answer lists; nginx, Traefik and Caddy would hand the header to
      // a backend that may serve another path or method than the one decided.
      if (!REMOVES_HEADERS.has(input.mode)) throw new GatewayError('check_override_header', `The request carries ${overrides.join(', ')}, which this proxy would pass to the backend`);
      for (const name of overrides) if (!remove.includes(name)) remove.push(name);
    }
    return { allowed: true, identity, removeHeaders: remove, requestId: ctx.id };
  }

  function refusal(ctx: DecisionContext, e: unknown): CheckDecision {
    const err = toGatewayError(e);
    ctx.errorCode = err.code;
    if (err.code === 'internal_error') deps.onFault?.(ctx, err);
    return {
      allowed: false, status: err.status, code: err.code, body: errorBody(err.code, err.message, ctx.id),
      headers: { ...err.headers }, requestId: ctx.id,
    };
  }

  function decided(ctx: DecisionContext, input: CheckInput, decision: CheckDecision): CheckDecision {
    deps.onDecided(ctx, input.mode, decision);
    return decision;
  }

  /** After the stages passed: allowed, or refused (an override the proxy asking cannot remove). */
  function finish(ctx: DecisionContext, input: CheckInput): CheckDecision {
    try {
      return allowed(ctx, input);
    } catch (e) {
      return refusal(ctx, e);
    }
  }

  function decide(input: CheckInput): CheckDecision | Promise<CheckDecision> {
    const gen = deps.current();
    const ctx = newContext(input, gen);
    // The decision, or the stages still running (a key store lookup, a limiter lease).
    let now: CheckDecision | Promise<void>;
    try {
      if (!trusted(gen.config.check.trusted, input.clientAddress)) {
        deps.onUntrusted?.(input.mode);
        throw new GatewayError('check_untrusted_client');
      }
      if (input.problem !== undefined) throw new GatewayError('check_original_missing', input.problem);
      if (input.method === undefined || !METHOD.test(input.method)) throw originalMissing('method');
      // Origin-form only: every shape sends path and query, so anything else is a wrong header.
      if (input.uri === undefined || input.uri.charCodeAt(0) !== 0x2f /* / */) throw originalMissing('URI');
      const r = runStages(chain, ctx);
      now = r instanceof Promise ? r : finish(ctx, input);
    } catch (e) {
      now = refusal(ctx, e);
    }
    // Observed outside the try: a throwing observer is a fault, never a second decision.
    if (!(now instanceof Promise)) return decided(ctx, input, now);
    return now.then(() => decided(ctx, input, finish(ctx, input)), (e: unknown) => decided(ctx, input, refusal(ctx, e)));
  }

  return { decide };
}
