import type { RequestView } from '../context.ts';

/**
 * Headers that make a framework rewrite the request before routing it. The target overrides
 * (IIS URL Rewrite, Symfony and Zend read `X-Original-URL`/`X-Rewrite-URL`; Spring and ASP.NET
 * honour `X-Forwarded-Prefix`) would let a request authorized for one path be served as
 * another: never forwarded. A keygate in front decides the path, so nothing needs them.
 */
export const TARGET_OVERRIDES: ReadonlySet<string> = new Set(['x-original-url', 'x-rewrite-url', 'x-forwarded-prefix']);

/**
 * Method overrides (Express method-override, Rails, Laravel, Symfony, Google APIs): a POST the
 * upstream executes as the method named here. Removed unless the route for the overridden
 * method opts in (`routes[].methodOverride`), and then that method is the one authorized.
 */
export const METHOD_OVERRIDES: readonly string[] = ['x-http-method-override', 'x-method-override', 'x-http-method'];
const METHOD_OVERRIDE_SET: ReadonlySet<string> = new Set(METHOD_OVERRIDES);

export const isMethodOverride = (lowerName: string): boolean => METHOD_OVERRIDE_SET.has(lowerName);

/** RFC 9110 §9.1: a method is a token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * The method a POST asks to be executed as, upper-cased as the frameworks do; null when it asks
 * for none. Only POST: Rails, Laravel, Symfony and method-override's default honour no other,
 * and a GET carrying an override must not be authorized as a method its upstream ignores.
 * Disagreeing overrides, a list, or a non-token are not honoured either: no reading of them is
 * safe to authorize, so they are removed like any override on a route that did not opt in.
 */
export function requestedOverride(req: RequestView): string | null {
  if (req.method !== 'POST') return null;
  let found: string | null = null;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = (raw[i] as string).toLowerCase();
    if (!METHOD_OVERRIDE_SET.has(lower)) continue;
    const value = (raw[i + 1] as string).trim().toUpperCase();
    if (!TOKEN.test(value) || (found !== null && found !== value)) return null;
    found = value;
  }
  return found;
}
