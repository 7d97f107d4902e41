import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Generation } from './generation.ts';
import type { RouteMatch } from './routing/types.ts';
import type { KeyRecord, PrincipalRecord } from './keystore/types.ts';

import type { CredentialStyleName } from './config/types.ts';
import type { RetryReason } from './proxy/retry.ts';

/** Which credential style authenticated (or failed to authenticate) the request. */
export type CredentialStyle = CredentialStyleName;

/** What the extractor leaves behind: the hash of the secret, never the secret itself. */
export interface PresentedCredential {
  style: CredentialStyle;
  /** Hash of the secret (the store key). For `token`, the hash of the token itself. */
  hash: string;
  /** Where it came from, so `hideCredentials` removes exactly that. */
  source: { kind: 'header'; name: string } | { kind: 'query'; param: string } | { kind: 'body'; field: string };
  /** Service keys: the user name the caller claimed, which must be the key's principal. */
  claimedUser?: string;
  /** Tokens: the verified claims (key id, expiry). */
  token?: { keyId: string; principalId: string; expiresAt: number };
}

/** An org-level key presented alongside (Contrast API-Key header, Mend orgToken). */
export interface PresentedOrgKey {
  hash: string;
  source: { kind: 'header'; name: string } | { kind: 'body'; field: string };
}

/**
 * What the decision stages read of a request: on the proxy the IncomingMessage itself, on the
 * check listener the original request a check describes (src/check/view.ts). The body, when a
 * stage must read it, is iterated like a stream either way.
 */
export interface RequestView extends AsyncIterable<Buffer> {
  method?: string | undefined;
  url?: string | undefined;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  /** The peer: the client on the proxy, the proxy asking on the check listener. */
  socket?: { remoteAddress?: string | undefined } | null;
}

/**
 * Everything known about one request, in one typed object that each stage reads and extends.
 * Stages never keep per-request state anywhere else. `R` is the IncomingMessage on the proxy;
 * the stages shared with decision mode take a {@link DecisionContext}.
 */
export interface RequestContext<R extends RequestView = IncomingMessage> {
  /** X-Request-Id: the client's when well-formed, else generated. */
  id: string;
  /** process.hrtime.bigint() at arrival. */
  start: bigint;
  /** The config generation this request started on; a reload never changes it mid-flight. */
  gen: Generation;
  req: R;
  /** Absent for WebSocket upgrades, which answer on the raw socket. */
  res: ServerResponse | undefined;
  /** The client asked `Expect: 100-continue`; answered only once the request is authorized. */
  expectContinue: boolean;
  /** Normalized path (matched and forwarded) and the raw query string. */
  path: string;
  query: string;
  match: RouteMatch | null;
  credential: PresentedCredential | null;
  /**
   * The style of a credential that was presented but could not be read (a malformed Bearer, a
   * key in our format with a bad checksum), so refusals are counted and logged under the style
   * the client used rather than as "none".
   */
  malformedStyle: CredentialStyle | null;
  orgKey: PresentedOrgKey | null;
  /** The org the org key belongs to, once verified. */
  org: string | null;
  /** A request body that had to be read (body credentials): forwarded instead of the stream. */
  body: Buffer | null;
  principal: PrincipalRecord | null;
  key: KeyRecord | null;
  /** Stable error code when the request was refused or failed. */
  errorCode: string | null;
  /** Time spent authenticating and authorizing; null when the route is public or auth never ran. */
  authNs: bigint | null;
  /** When the request was handed to the upstream; null when it never was. */
  upstreamStart: bigint | null;
  /** The request passed every stage and was forwarded (a later upstream error does not undo that). */
  forwarded: boolean;
  /** Set when the upstream exchange failed: timeout, unavailable or client_aborted. */
  upstreamError: string | null;
  /** Set when the request was sent a second time after a stale keep-alive connection failed (proxy/retry.ts). */
  upstreamRetry: RetryReason | null;
  /** The method a POST was matched, authorized and forwarded as (its route opted in to overrides). */
  methodOverride: string | null;
  /** Client headers removed before forwarding, by reason (counted in keygate_request_headers_dropped_total). */
  headerDrops: HeaderDrops | null;
}

/** Why a client header was removed rather than forwarded. */
export type HeaderDropReason = 'underscore' | 'identity' | 'override';
export type HeaderDrops = Record<HeaderDropReason, number>;

/** The context of the stages the proxy and the check listener share (normalize … authorize). */
export type DecisionContext = RequestContext<RequestView>;
