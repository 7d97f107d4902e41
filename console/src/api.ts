/**
 * The console's only way to the server: same-origin fetches to `/console/api/*` (session) and
 * `/v1/*` (the admin API, authenticated by the session cookie). Every write carries the session's
 * CSRF token in `X-CSRF-Token`; the cookie itself is HttpOnly, so script never holds the session.
 */

export interface Principal {
  id: string;
  name: string;
  /** Free text for screens (a person's full name); rendered as text, never as markup. */
  displayName?: string;
  kind: 'user' | 'service';
  roles: string[];
  groups: string[];
  org?: string;
  disabled: boolean;
  createdAt: string;
  metadata: Record<string, string>;
  source: 'config' | 'api';
}

export type KeyStatus = 'active' | 'expired' | 'revoked' | 'rotated';

export interface Key {
  id: string;
  principalId: string;
  name?: string;
  purpose?: string;
  prefix: string;
  createdAt: string;
  createdBy?: string;
  expiresAt?: string;
  lastUsedAt?: string;
  revokedAt?: string;
  scopes?: string[];
  type: 'api_key' | 'key_pair';
  rotatedFrom?: string;
  rotatedTo?: string;
  status: KeyStatus;
  requests7d?: number | null;
  /** Rate-limit override set through the admin API (a policy name or `{ rate, burst, per }`). */
  limit?: unknown;
  /** Quota override (`{ requests, period }`). */
  quota?: unknown;
  /** Lists only: what is left of the key's own quota; null when it has none or it is unknown. */
  quotaLeft?: { remaining: number; resetsAt: string | null } | null;
}

export interface QuotaState {
  scope: 'key' | 'principal' | 'org';
  name: string;
  requests: number;
  period: 'day' | 'month' | 'none';
  used: number;
  remaining: number;
  resetsAt: string | null;
}

/** `GET /v1/keys/{id}/limits` and `/v1/principals/{id}/limits`: what is in force. */
export interface Limits {
  override?: { limit?: unknown; quota?: unknown };
  limit: { policy: string; rate: string; burst: number | null; per: string; source: string } | null;
  quotas: QuotaState[];
}

/** A page of a listing (`limit` / `cursor`, the shipping issue's pagination). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface KeyWithSecret {
  key: Key;
  secret: string;
  notice: string;
}

export interface Group {
  name: string;
  roles: string[];
  resources: Record<string, string[]>;
  createdAt: string;
}

export interface AuditEvent {
  id: string;
  time: string;
  kind: 'request' | 'token' | 'admin';
  requestId: string;
  principalId: string | null;
  principalName: string | null;
  keyId: string | null;
  route: string | null;
  method: string | null;
  path: string | null;
  status: number | null;
  decision: 'allowed' | 'denied' | 'error';
  reason: string | null;
  latencyMs: number | null;
  client: string | null;
  action: string | null;
  target: string | null;
}

export interface AuditPage {
  items: AuditEvent[];
  nextCursor: string | null;
}

export interface KeyUsage {
  keyId: string;
  days: { date: string; count: number }[];
  total: number;
}

export interface ConsoleConfig {
  oidc: { enabled: boolean; loginUrl: string };
  keys: { maxPerPrincipal: number; defaultLifetime?: string | number | null; maxLifetime?: string | number | null };
  /** How keys are sent, for connection details (absent from older gateways). */
  credentials?: {
    serviceKey: { enabled: boolean; orgHeader: string };
    tokens: { enabled: boolean; path: string };
  };
  version: string;
}

export interface Session {
  principal: { id: string; name: string; kind: 'user' | 'service' } | null;
  permissions: string[];
  csrfToken: string;
  expiresAt: string;
}

/** An error answer of the API: its stable code, message and, for bad input, the field. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken = '';
let onSessionLost: () => void = () => {};

/** Called when the server answers 401: the session ended (idle or absolute timeout, sign-out elsewhere). */
export function whenSessionLost(f: () => void): void {
  onSessionLost = f;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    // Not JSON (a proxy's error page): reported below with the status.
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; field?: string } } | null)?.error;
    const err = new ApiError(res.status, e?.code ?? 'http_error', e?.message ?? `HTTP ${res.status}`, e?.field);
    if (res.status === 401 && !path.startsWith('/console/api/session')) onSessionLost();
    throw err;
  }
  return json as T;
}

/** The largest page the admin API serves (admin/v1/pagination.ts MAX_LIMIT). */
const PAGE_MAX = 1000;

/** `encodeURIComponent` for path segments: ids and names come from users. */
const seg = encodeURIComponent;

function qs(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

export const api = {
  config: () => call<ConsoleConfig>('GET', '/console/api/config'),
  async session(): Promise<Session | null> {
    try {
      const s = await call<Session>('GET', '/console/api/session');
      csrfToken = s.csrfToken;
      return s;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return null;
      throw e;
    }
  },
  async signIn(token: string): Promise<Session> {
    const s = await call<Session>('POST', '/console/api/session', { token });
    csrfToken = s.csrfToken;
    return s;
  },
  async signOut(): Promise<void> {
    try {
      await call<void>('DELETE', '/console/api/session');
    } finally {
      csrfToken = '';
    }
  },

  /** A page of principals, the largest the API gives (1,000), in id order. */
  principals: (cursor?: string) => call<Page<Principal>>('GET', `/v1/principals${qs({ limit: String(PAGE_MAX), cursor })}`),
  principal: (id: string) => call<Principal>('GET', `/v1/principals/${seg(id)}`),
  createPrincipal: (p: { name: string; displayName?: string; kind: 'user' | 'service'; roles?: string[]; groups?: string[]; org?: string }) =>
    call<Principal>('POST', '/v1/principals', p),
  /** `displayName: null` removes it. */
  updatePrincipal: (id: string, p: { displayName?: string | null; roles?: string[]; groups?: string[]; org?: string }) =>
    call<Principal>('PATCH', `/v1/principals/${seg(id)}`, p),
  setDisabled: (id: string, disabled: boolean) =>
    call<Principal>('POST', `/v1/principals/${seg(id)}/${disabled ? 'disable' : 'enable'}`),

  /** All keys of a principal, every page: a principal holds few (`keys.maxPerPrincipal` live ones). */
  async keys(principal: string): Promise<Key[]> {
    const all: Key[] = [];
    let cursor: string | undefined;
    do {
      const page = await call<Page<Key>>('GET', `/v1/keys${qs({ principal, limit: String(PAGE_MAX), cursor })}`);
      all.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return all;
  },
  /** A page of every principal's keys (the API keys screen), in id order. */
  allKeys: (cursor?: string) => call<Page<Key>>('GET', `/v1/keys${qs({ limit: String(PAGE_MAX), cursor })}`),
  keyLimits: (id: string) => call<Limits>('GET', `/v1/keys/${seg(id)}/limits`),
  key: (id: string) => call<Key>('GET', `/v1/keys/${seg(id)}`),
  createKey: (k: { principal: string; name?: string; purpose?: string; expiresIn?: string; scopes?: string[]; type?: 'api_key' | 'key_pair' }) =>
    call<KeyWithSecret>('POST', '/v1/keys', k),
  updateKey: (id: string, k: { name?: string; purpose?: string }) => call<Key>('PATCH', `/v1/keys/${seg(id)}`, k),
  rotateKey: (id: string, grace?: string) => call<KeyWithSecret>('POST', `/v1/keys/${seg(id)}/rotate`, grace === undefined ? {} : { grace }),
  expireKey: (id: string) => call<Key>('POST', `/v1/keys/${seg(id)}/expire`),
  deleteKey: (id: string) => call<void>('DELETE', `/v1/keys/${seg(id)}`),
  usage: (id: string, days: number) => call<KeyUsage>('GET', `/v1/keys/${seg(id)}/usage${qs({ days: String(days) })}`),

  /** A page of groups, the largest the API gives (1,000), in name order. */
  groups: (cursor?: string) => call<Page<Group>>('GET', `/v1/groups${qs({ limit: String(PAGE_MAX), cursor })}`),
  createGroup: (g: { name: string; roles: string[]; resources: Record<string, string[]> }) => call<Group>('POST', '/v1/groups', g),
  updateGroup: (name: string, g: { roles?: string[]; resources?: Record<string, string[]> }) =>
    call<Group>('PATCH', `/v1/groups/${seg(name)}`, g),
  deleteGroup: (name: string) => call<void>('DELETE', `/v1/groups/${seg(name)}`),

  audit: (filter: Record<string, string | undefined>) => call<AuditPage>('GET', `/v1/audit${qs(filter)}`),
  /** The CSV export is a plain same-origin link: the browser downloads it with the session cookie. */
  auditCsvUrl: (filter: Record<string, string | undefined>) => `/v1/audit${qs({ ...filter, format: 'csv', limit: '1000' })}`,
};

/**
 * Whether granted permissions cover an admin action, as the server decides it (admin/permissions.ts):
 * the action itself, `keygate:admin`, `keygate:admin:read|write`, or a trailing `*` wildcard. For what
 * the console shows only; the API enforces.
 */
export function may(permissions: readonly string[], action: string): boolean {
  const verb = action.slice(action.lastIndexOf(':') + 1);
  return permissions.some((p) => {
    if (p === action || p === '*' || p === 'keygate:admin') return true;
    // keygate:admin:read|write cover that verb on every resource, but not keys:own.
    if ((verb === 'read' || verb === 'write') && p === `keygate:admin:${verb}`) return true;
    return p.endsWith(':*') && action.startsWith(p.slice(0, -1));
  });
}
