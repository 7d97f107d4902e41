import { LOGIN_COOKIE, SESSION_COOKIE } from '../admin/console/cookies.ts';

/** Cookies keygate sets itself: the console's session and its OIDC login binding. */
const OWN = new Set([SESSION_COOKIE, LOGIN_COOKIE]);

/**
 * A Cookie header without keygate's own cookies; null when nothing else is left. Cookies are not
 * kept apart by port (RFC 6265 §8.5): a browser signed in to the console on the admin listener
 * sends its session cookie to every port of that host, the proxy's included, and an upstream
 * handed it could read the session's CSRF token and act as the administrator. Every other
 * cookie is passed on byte for byte.
 */
export function withoutOwnCookies(value: string): string | null {
  if (!value.includes('keygate_')) return value;
  const kept = value.split(';').filter((pair) => {
    const eq = pair.indexOf('=');
    return !OWN.has((eq < 0 ? pair : pair.slice(0, eq)).trim());
  });
  if (kept.length === 0) return null;
  const joined = kept.join(';');
  return joined.startsWith(' ') ? joined.slice(1) : joined;
}

/**
 * Whether an upstream's Set-Cookie sets one of keygate's cookies. Browsers would store it for
 * the console too (same host, any port): an upstream could plant its own session there, and the
 * administrator would work, unawares, in the upstream's session (RFC 6265bis §8.6, cookie
 * tossing). Such a header is not passed to the client.
 */
export function setsOwnCookie(value: string): boolean {
  const eq = value.indexOf('=');
  return eq > 0 && OWN.has(value.slice(0, eq).trim());
}
