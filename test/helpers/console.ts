import { request } from 'undici';

export interface ConsoleResponse<T = Record<string, unknown>> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or null for an empty or non-JSON body. */
  body: T;
  text: string;
  /** Raw Set-Cookie lines. */
  setCookies: string[];
}

/** One HTTP exchange, no redirects followed, every header visible. */
export async function exchange<T = Record<string, unknown>>(url: string, opts: { method?: string; headers?: Record<string, string>; json?: unknown; body?: string } = {}): Promise<ConsoleResponse<T>> {
  const res = await request(url, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: { ...(opts.json === undefined ? {} : { 'content-type': 'application/json' }), ...opts.headers },
    ...(opts.json === undefined ? (opts.body === undefined ? {} : { body: opts.body }) : { body: JSON.stringify(opts.json) }),
  });
  const text = await res.body.text();
  let body: unknown = null;
  try { body = text === '' ? null : JSON.parse(text); } catch { /* not JSON */ }
  const sc = res.headers['set-cookie'];
  return { status: res.statusCode, headers: res.headers, body: body as T, text, setCookies: sc === undefined ? [] : Array.isArray(sc) ? sc : [sc] };
}

/** The value a Set-Cookie line gives a cookie, and its attributes (lower-cased names). */
export function parseSetCookie(line: string): { name: string; value: string; attrs: Map<string, string> } {
  const [pair = '', ...rest] = line.split(';');
  const eq = pair.indexOf('=');
  const attrs = new Map(rest.map((a) => {
    const i = a.indexOf('=');
    return i < 0 ? [a.trim().toLowerCase(), ''] as [string, string] : [a.slice(0, i).trim().toLowerCase(), a.slice(i + 1).trim()] as [string, string];
  }));
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attrs };
}

/** The console's session from a sign-in response: the cookie header to send back and the CSRF token. */
export interface ConsoleSession {
  cookie: string;
  csrf: string;
  value: string;
}

/** Signs in with the admin token or an admin key, as the console's sign-in form does. */
export async function signIn(adminUrl: string, token: string, headers: Record<string, string> = {}): Promise<ConsoleSession> {
  const r = await exchange<{ csrfToken: string }>(`${adminUrl}/console/api/session`, { method: 'POST', json: { token }, headers });
  if (r.status !== 200) throw new Error(`sign-in failed: ${r.status} ${r.text}`);
  const c = r.setCookies.map(parseSetCookie).find((x) => x.name === 'keygate_session');
  if (c === undefined) throw new Error('no session cookie');
  return { cookie: `keygate_session=${c.value}`, csrf: r.body.csrfToken, value: c.value };
}

/** A request made the way the console page makes it: the cookie, and the CSRF token on writes. */
export function withSession(s: ConsoleSession, csrf = true): Record<string, string> {
  return { cookie: s.cookie, ...(csrf ? { 'x-csrf-token': s.csrf } : {}) };
}
