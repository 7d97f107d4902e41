import { request } from 'undici';

/** A refusal from the admin API, shown to the user as one line. */
export class AdminApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface AdminClient {
  call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<unknown>;
}

/**
 * The CLI's client for the admin API, on undici. Configured by KEYGATE_ADMIN_URL
 * (default http://127.0.0.1:9090) and KEYGATE_ADMIN_TOKEN.
 */
export function adminClientFromEnv(env: NodeJS.ProcessEnv = process.env): AdminClient {
  const base = (env['KEYGATE_ADMIN_URL'] ?? 'http://127.0.0.1:9090').replace(/\/+$/, '');
  const token = env['KEYGATE_ADMIN_TOKEN'] ?? '';
  return {
    async call(method, path, body) {
      let res;
      try {
        res = await request(`${base}${path}`, {
          method,
          headers: {
            accept: 'application/json',
            ...(token === '' ? {} : { authorization: `Bearer ${token}` }),
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
        throw new AdminApiError(res.statusCode, err?.code ?? 'http_error', err?.message ?? `HTTP ${res.statusCode}`);
      }
      return parsed;
    },
  };
}
