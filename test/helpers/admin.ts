import { request } from 'undici';

export interface AdminResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/** A small admin API client for tests: method, path, JSON body, token. */
export function adminApi(baseUrl: string, token: string) {
  return async function call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, auth: string | null = token): Promise<AdminResponse<T>> {
    const res = await request(`${baseUrl}${path}`, {
      method: method as 'GET',
      headers: {
        ...(auth === null ? {} : { authorization: `Bearer ${auth}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: (text === '' ? null : JSON.parse(text)) as T };
  };
}

/** Status of a proxied GET with a bearer key. */
export async function proxiedStatus(url: string, secret: string, method = 'GET'): Promise<{ status: number; code: string | null }> {
  const res = await request(url, { method: method as 'GET', headers: { authorization: `Bearer ${secret}` } });
  const text = await res.body.text();
  let code: string | null = null;
  try { code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? null; } catch { /* upstream body */ }
  return { status: res.statusCode, code };
}
