import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ConsoleConfig, TrustedPeers } from '../../config/types.ts';

export const SESSION_COOKIE = 'keygate_session';
/** Binds an OIDC login to the browser that started it; Lax, because the IdP's redirect back is a cross-site navigation. */
export const LOGIN_COOKIE = 'keygate_oidc';

/** The value of one cookie from the Cookie header (RFC 6265 §5.4), or undefined. The first one wins. */
export function cookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

/**
 * Whether cookies get `Secure`. `auto`: the request came over TLS, or a proxy listed in
 * `server.trustedProxies` says `X-Forwarded-Proto: https` (a client that is not such a proxy
 * cannot make keygate believe it is on TLS; it can only get a cookie without the flag, which is
 * what it would get anyway on plain HTTP).
 */
export function secureRequest(req: IncomingMessage, mode: ConsoleConfig['secureCookies'], trusted: TrustedPeers | null): boolean {
  if (mode !== 'auto') return mode === 'always';
  if ((req.socket as Partial<TLSSocket>).encrypted === true) return true;
  const peer = req.socket.remoteAddress;
  if (trusted === null || peer === undefined || !trusted.has(peer)) return false;
  const proto = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https';
}

export interface CookieOptions {
  secure: boolean;
  sameSite: 'Strict' | 'Lax';
  path: string;
  /** Seconds; 0 deletes. Absent: a browser-session cookie (the server enforces the timeouts). */
  maxAge?: number;
}

export function setCookie(name: string, value: string, o: CookieOptions): string {
  return [
    `${name}=${value}`, 'HttpOnly', `SameSite=${o.sameSite}`, `Path=${o.path}`,
    ...(o.secure ? ['Secure'] : []),
    ...(o.maxAge === undefined ? [] : [`Max-Age=${o.maxAge}`]),
  ].join('; ');
}
