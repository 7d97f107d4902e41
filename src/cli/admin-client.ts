import { request } from 'undici';
import { AdminApiError, MissingTokenError } from './admin-errors.ts';

export { AdminApiError, MissingTokenError };

export interface AdminClient {
  call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<unknown>;
}

/** Where the admin API is and what to present to it; flags win over the environment. */
export interface AdminTarget {
  /** @default $KEYGATE_ADMIN_URL, else http://127.0.0.1:9090 */
  url?: string | undefined;
  /** @default $KEYGATE_ADMIN_TOKEN */
  token?: string | undefined;
}

/**
 * The CLI's client for the admin API, on undici: `--admin-url`/`--token`, else KEYGATE_ADMIN_URL
 * (default http://127.0.0.1:9090) and KEYGATE_ADMIN_TOKEN.
 */
export function adminClientFromEnv(target: AdminTarget = {}, env: NodeJS.ProcessEnv = process.env): AdminClient {
  const base = (target.url ?? env['KEYGATE_ADMIN_URL'] ?? 'http://127.0.0.1:9090').replace(/\/+$/, '');
  const token = target.token ?? env['KEYGATE_ADMIN_TOKEN'] ?? '';
  return {
    async call(method, path, body) {
      if (token === '') throw new MissingTokenError();
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(`${base}${path}`, {
          method,
          headers: {
            accept: 'application/json',
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          headersTimeout: 15_000,
          bodyTimeout: 15_000,
        });
      } catch (e) {
        throw new AdminApiError(0, 'unreachable', `cannot reach the admin API at ${base}: ${(e as Error).message}`);
      }
      const text = await res.body.text();
      if (res.statusCode === 204) return null;
      let parsed: unknown = null;
      try { parsed = text === '' ? null : JSON.parse(text); } catch { /* reported below */ }
      if (res.statusCode >= 400) {
        const err = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
        const hint = res.statusCode === 401 ? ' (check KEYGATE_ADMIN_TOKEN or --token)' : '';
        throw new AdminApiError(res.statusCode, err?.code ?? 'http_error', `${err?.message ?? `HTTP ${res.statusCode}`}${hint}`);
      }
      return parsed;
    },
  };
}
