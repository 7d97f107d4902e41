import type {
  CredentialStyleName, DeclaredKey, DeclaredPrincipal, GatewayConfig, IdentityConfig, OrgConfig,
  RoleConfig, RouteConfig, UpstreamConfig,
} from './types.ts';
import { durationMs } from './duration.ts';

/** Tolerant: with schema errors present this still runs (all problems at once); 0 for what the schema already refused. */
function ms(v: unknown): number {
  try {
    return durationMs(String(v));
  } catch {
    return 0;
  }
}
import { compileRoutes } from '../routing/match.ts';

type Obj = Record<string, unknown>;
type Report = (path: string, message: string) => void;

const o = (v: unknown): Obj => (v ?? {}) as Obj;
const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : v === undefined ? [] : [v as T]);

/** `X-Authenticated-User` → prefix `x-authenticated-` and siblings in the user's casing. */
function identity(raw: Obj, report: Report): IdentityConfig {
  const header = raw['header'] as string;
  const cut = header.lastIndexOf('-');
  if (cut <= 0) report('/identity/header', `"${header}" needs a prefix and a last word, like X-Authenticated-User`);
  const base = cut <= 0 ? 'X-Authenticated-' : header.slice(0, cut + 1);
  return {
    header,
    prefix: base.toLowerCase(),
    strip: list<string>(raw['strip']).map((h) => h.toLowerCase()),
    names: { user: header, id: `${base}Id`, kind: `${base}Kind`, keyId: `${base}Key-Id`, roles: `${base}Roles`, org: `${base}Org` },
  };
}

function upstreams(raw: Obj, report: Report): Map<string, UpstreamConfig> {
  const out = new Map<string, UpstreamConfig>();
  for (const [name, v] of Object.entries(raw)) {
    const u = o(v);
    let url: URL;
    try {
      url = new URL(u['url'] as string);
    } catch {
      report(`/upstreams/${name}/url`, `"${String(u['url'])}" is not a URL`);
      continue;
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || url.search !== '' || url.hash !== '' || url.username !== '') {
      report(`/upstreams/${name}/url`, 'must be http:// or https:// with a host, and no query, fragment or credentials');
      continue;
    }
    out.set(name, {
      name, url, timeoutMs: ms(u['timeout']), connectTimeoutMs: ms(u['connectTimeout']),
      bodyTimeoutMs: ms(u['bodyTimeout']), connections: u['connections'] as number, preserveHost: u['preserveHost'] as boolean,
    });
  }
  return out;
}

function routes(raw: Obj[], ups: Map<string, UpstreamConfig>, enabled: Set<CredentialStyleName>, caseSensitive: boolean, report: Report, lineOf: (path: string) => number): RouteConfig[] {
  const out: RouteConfig[] = [];
  const names = new Set<string>();
  raw.forEach((r, i) => {
    const at = `/routes/${i}`;
    const name = r['name'] as string;
    if (names.has(name)) report(`${at}/name`, `route name "${name}" is already used by an earlier route`);
    names.add(name);
    if (!ups.has(r['upstream'] as string)) report(`${at}/upstream`, `upstream "${String(r['upstream'])}" is not defined (defined: ${[...ups.keys()].join(', ')})`);
    const actions = list<string>(r['action']);
    const isPublic = r['public'] as boolean;
    if (isPublic && actions.length > 0) report(`${at}/action`, 'a public route takes no action');
    if (!isPublic && actions.length === 0) report(at, 'a protected route needs an action (or public: true)');
    const creds = r['credentials'] === undefined ? null : list<CredentialStyleName>(r['credentials']);
    for (const [j, s] of (creds ?? []).entries()) {
      if (!enabled.has(s)) report(`${at}/credentials/${j}`, `credential style "${s}" is not enabled under credentials (or tokens)`);
    }
    const resource = r['resource'] === undefined ? null : (r['resource'] as { type: string; param: string });
    const path = r['path'] as string;
    if (resource !== null && !path.split('/').includes(`:${resource.param}`)) report(`${at}/resource/param`, `the path has no :${resource.param} parameter`);
    const route: RouteConfig = {
      name, path, methods: list<string>(r['methods']), hosts: list<string>(r['host']).map((h) => h.toLowerCase()),
      upstream: r['upstream'] as string, actions, public: isPublic, stripPrefix: r['stripPrefix'] as string,
      credentials: creds, resource, line: lineOf(at),
    };
    if (ups.has(route.upstream)) {
      try {
        compileRoutes([route], ups, { caseSensitive });
      } catch (e) {
        report(`${at}/path`, (e as Error).message);
      }
    }
    out.push(route);
  });
  return out;
}

function keys(raw: unknown, at: string, algorithm: string, seenIds: Map<string, string>, seenHashes: Set<string>, report: Report): DeclaredKey[] {
  return list<Obj>(raw).map((k, j) => {
    const id = k['id'] as string;
    const hash = k['hash'] as string;
    if (seenIds.has(id)) report(`${at}/${j}/id`, `key id "${id}" is already used (${seenIds.get(id)})`);
    seenIds.set(id, at);
    if (!hash.startsWith(`${algorithm}:`)) report(`${at}/${j}/hash`, `must be ${algorithm}: (${algorithm === 'sha256' ? 'no keys.pepper is set' : 'keys.pepper is set'}); make it with keygate hash-key`);
    if (seenHashes.has(hash)) report(`${at}/${j}/hash`, 'the same secret is declared twice');
    seenHashes.add(hash);
    return { id, hash, ...(k['name'] === undefined ? {} : { name: k['name'] as string }), ...(k['expiresAt'] === undefined ? {} : { expiresAt: new Date(k['expiresAt'] as string) }) };
  });
}

/** Schema-valid data → typed config, with every cross-field rule the schema cannot express. */
export function buildConfig(data: Obj, file: string, report: Report, lineOf: (path: string) => number): GatewayConfig {
  const server = o(data['server']);
  const store = o(data['store']);
  const creds = o(data['credentials']);
  const tokens = o(data['tokens']);
  const keysCfg = o(data['keys']);
  const algorithm = (keysCfg['pepper'] as string) === '' ? 'sha256' : 'hmac-sha256';

  const roles = new Map<string, RoleConfig>(Object.entries(o(data['roles'])).map(([name, v]) => [name, { name, actions: list<string>(o(v)['actions']), serviceOnly: o(v)['serviceOnly'] as boolean }]));

  const signingKeys = list<Obj>(tokens['signingKeys']).map((k) => ({ id: k['id'] as string, secret: k['secret'] as string, verifyOnly: k['verifyOnly'] as boolean }));
  if (new Set(signingKeys.map((k) => k.id)).size !== signingKeys.length) report('/tokens/signingKeys', 'signing key ids must be unique');
  signingKeys.forEach((k, i) => { if (k.secret.length > 0 && k.secret.length < 32) report(`/tokens/signingKeys/${i}/secret`, 'must be at least 32 characters'); });
  if (tokens['enabled'] === true && !signingKeys.some((k) => !k.verifyOnly && k.secret.length >= 32)) report('/tokens/signingKeys', 'tokens are enabled but no signing key (without verifyOnly, 32+ characters) is configured');

  const enabled = new Set<CredentialStyleName>();
  if (creds['bearer'] === true) enabled.add('bearer');
  if (tokens['enabled'] === true) enabled.add('token');
  if (o(creds['apiKey'])['enabled'] === true) enabled.add('apikey');
  if (o(creds['serviceKey'])['enabled'] === true) enabled.add('service_key');
  if (o(creds['body'])['enabled'] === true) enabled.add('body');
  if (o(creds['query'])['enabled'] === true) enabled.add('query');

  const ups = upstreams(o(data['upstreams']), report);
  const seenIds = new Map<string, string>();
  const seenHashes = new Set<string>();
  const orgs = new Map<string, OrgConfig>(Object.entries(o(data['orgs'])).map(([name, v]) => [name, { name, keys: keys(o(v)['keys'], `/orgs/${name}/keys`, algorithm, seenIds, seenHashes, report) }]));

  const names = new Set<string>();
  const principals: DeclaredPrincipal[] = list<Obj>(data['principals']).map((p, i) => {
    const at = `/principals/${i}`;
    const name = p['name'] as string;
    if (names.has(name)) report(`${at}/name`, `principal name "${name}" is already used`);
    names.add(name);
    const kind = p['kind'] as 'user' | 'service';
    const pRoles = list<string>(p['roles']);
    pRoles.forEach((r, j) => {
      const role = roles.get(r);
      if (role === undefined) report(`${at}/roles/${j}`, `role "${r}" is not defined (defined: ${[...roles.keys()].join(', ') || 'none'})`);
      else if (role.serviceOnly && kind !== 'service') report(`${at}/roles/${j}`, `role "${r}" may only be given to service principals`);
    });
    return {
      name, kind, roles: pRoles, disabled: p['disabled'] as boolean, ...(p['org'] === undefined ? {} : { org: p['org'] as string }),
      keys: keys(p['keys'], `${at}/keys`, algorithm, seenIds, seenHashes, report),
    };
  });

  const c = o(creds['apiKey']);
  const sk = o(creds['serviceKey']);
  const b = o(creds['body']);
  const q = o(creds['query']);
  const cache = o(store['cache']);
  const sentinel = store['sentinel'] as { name: string; nodes: { host: string; port: number }[] } | undefined;
  return {
    file,
    server: {
      port: server['port'] as number, host: server['host'] as string,
      headersTimeoutMs: ms(server['headersTimeout']), requestTimeoutMs: ms(server['requestTimeout']),
      keepAliveTimeoutMs: ms(server['keepAliveTimeout']), drainTimeoutMs: ms(server['drainTimeout']),
      maxHeaderBytes: server['maxHeaderBytes'] as number, maxHeaders: server['maxHeaders'] as number,
      trustForwarded: server['trustForwarded'] as boolean, caseSensitivePaths: server['caseSensitivePaths'] as boolean,
      pathSemicolons: server['pathSemicolons'] as 'reject' | 'allow',
    },
    admin: { port: o(data['admin'])['port'] as number, host: o(data['admin'])['host'] as string, token: o(data['admin'])['token'] as string },
    store: {
      redis: store['redis'] as string, sentinel: sentinel ?? null, cluster: (store['cluster'] as { host: string; port: number }[] | undefined) ?? null,
      prefix: store['prefix'] as string, onError: store['onError'] as 'serve-stale' | 'deny', staleTtlMs: ms(store['staleTtl']),
      cache: { max: cache['max'] as number, ttlMs: ms(cache['ttl']), negativeTtlMs: ms(cache['negativeTtl']) },
    },
    identity: identity(o(data['identity']), report),
    credentials: {
      bearer: creds['bearer'] as boolean, hideCredentials: creds['hideCredentials'] as boolean,
      apiKey: { enabled: c['enabled'] as boolean, scheme: c['scheme'] as string },
      serviceKey: { enabled: sk['enabled'] as boolean, orgHeader: sk['orgHeader'] as string, requireOrgKey: sk['requireOrgKey'] as boolean },
      body: { enabled: b['enabled'] as boolean, field: b['field'] as string, orgField: b['orgField'] as string, maxBytes: b['maxBytes'] as number, maxDepth: b['maxDepth'] as number },
      query: { enabled: q['enabled'] as boolean, param: q['param'] as string },
      requireUserKey: creds['requireUserKey'] as boolean,
    },
    keys: { prefix: keysCfg['prefix'] as string, maxPerPrincipal: keysCfg['maxPerPrincipal'] as number, pepper: keysCfg['pepper'] as string },
    tokens: {
      enabled: tokens['enabled'] as boolean, path: tokens['path'] as string, ttlMs: ms(tokens['ttl']),
      maxTtlMs: ms(tokens['maxTtl']), signingKeys,
    },
    orgs,
    roles,
    upstreams: ups,
    routes: routes(list<Obj>(data['routes']), ups, enabled, server['caseSensitivePaths'] as boolean, report, lineOf),
    principals,
    log: { level: o(data['log'])['level'] as GatewayConfig['log']['level'] },
  };
}
