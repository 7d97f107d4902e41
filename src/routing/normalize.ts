import { GatewayError } from '../errors.ts';
import type { NormalizedTarget } from './types.ts';
import { decodedPathProblem } from './decoded-path.ts';

/** Options of {@link normalizeTarget}. */
export interface NormalizeOptions {
  /**
   * A literal `;` in the path: `reject` answers 400, `allow` keeps it as a plain character.
   * Tomcat and Spring read `;…` as path parameters, so `/admin;x/` reaches `/admin/` there.
   * @default "reject" (set by `server.pathSemicolons`)
   */
  semicolons: 'reject' | 'allow';
}

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const QUESTION = 0x3f;
const HASH = 0x23;
const BACKSLASH = 0x5c;
const SEMICOLON = 0x3b;

const HEX = '0123456789ABCDEF';

/**
 * Normalizes a request target (Node's `req.url`) once; the returned path is what routes are
 * matched against AND what is forwarded, so the two can never disagree.
 *
 * Accepts origin-form and absolute-form (RFC 9112 §3.2.2, only its path and query are kept).
 * Unreserved percent-encodings are decoded, others keep their encoding with upper-case hex
 * (RFC 3986 §6.2.2), then dot-segments are resolved (§5.2.4) and empty segments collapsed.
 * Anything ambiguous — encoded `/` or `\`, NUL, controls, bad escapes, climbing above the root,
 * `;` unless allowed, and what a lenient upstream would decode into something else (a second
 * escape, invalid UTF-8, text NFKC changes, look-alikes of `/`, `\`, `.`) — throws `bad_path`
 * rather than guessing what the upstream would make of it (docs/security.md, "Paths").
 */
export function normalizeTarget(rawUrl: string, opts: NormalizeOptions): NormalizedTarget {
  let start = 0;
  if (rawUrl.charCodeAt(0) !== SLASH) {
    start = absoluteFormPathStart(rawUrl);
    if (start === rawUrl.length || rawUrl.charCodeAt(start) === QUESTION) {
      // `http://host` and `http://host?q` address "/" (RFC 9110 §4.2.3).
      return { path: '/', query: checkedQuery(rawUrl, start) };
    }
  }

  const allowSemicolon = opts.semicolons === 'allow';
  const len = rawUrl.length;
  let end = len;
  let simple = true;

  // Common case: one scan that only looks; the slow path runs when something needs rewriting.
  for (let i = start; i < len; i++) {
    const c = rawUrl.charCodeAt(i);
    if (c === QUESTION) {
      end = i;
      break;
    }
    if (c <= 0x20 || c >= 0x7f || c === HASH || c === BACKSLASH) throw badPath('forbidden character in path');
    if (c === SEMICOLON) {
      if (!allowSemicolon) throw badPath('";" in path');
      simple = false;
    }
    if (c === PERCENT) simple = false;
    else if (c === SLASH && simple) {
      const n1 = rawUrl.charCodeAt(i + 1); // NaN past the end: compares unequal to everything
      if (n1 === SLASH) simple = false;
      else if (n1 === DOT) {
        const n2 = rawUrl.charCodeAt(i + 2);
        if (i + 2 >= len || n2 === SLASH || n2 === QUESTION) simple = false;
        else if (n2 === DOT) {
          const n3 = rawUrl.charCodeAt(i + 3);
          if (i + 3 >= len || n3 === SLASH || n3 === QUESTION) simple = false;
        }
      }
    }
  }

  const query = checkedQuery(rawUrl, end);
  if (simple) {
    return { path: start === 0 && end === len ? rawUrl : rawUrl.slice(start, end), query };
  }
  const path = removeDotSegments(decodePath(rawUrl, start, end, allowSemicolon));
  if (allowSemicolon) checkPathParameters(path);
  return { path, query };
}

/**
 * With `;` allowed, Tomcat, Spring and Jetty still cut each segment at its first `;` (RFC 3986
 * §3.3 path parameters), so `..;x` is `..` to them and `;x` is an empty segment: `/public/..;/admin`
 * reaches `/admin` there. Such segments are refused; an encoded `%3B` counts as a `;`, since a hop
 * that decodes before them turns one into the other.
 */
function checkPathParameters(path: string): void {
  for (const seg of path.replace(/%3B/g, ';').split('/')) {
    const name = seg.split(';', 1)[0] as string; // split always yields one element
    if (name !== seg && (name === '' || name === '.' || name === '..')) {
      throw badPath('path parameter on an empty or dot segment');
    }
  }
}

/**
 * Index where the path of an absolute-form target starts (or where its query / the end is).
 * Only `http` and `https` are accepted; userinfo is refused (RFC 9110 §4.2.4). The authority
 * itself is not used here: routes match on the Host header, and what goes upstream is the path.
 */
function absoluteFormPathStart(rawUrl: string): number {
  const lower = rawUrl.slice(0, 8).toLowerCase();
  let i: number;
  if (lower.startsWith('http://')) i = 7;
  else if (lower === 'https://') i = 8;
  else throw badPath('request target is not origin-form or http(s) absolute-form');
  const authStart = i;
  for (; i < rawUrl.length; i++) {
    const c = rawUrl.charCodeAt(i);
    if (c === SLASH || c === QUESTION) break;
    if (c === 0x40 /* @ */ || c <= 0x20 || c >= 0x7f || c === HASH || c === BACKSLASH) {
      throw badPath('forbidden character in authority');
    }
  }
  if (i === authStart) throw badPath('empty authority');
  return i;
}

/** The raw query (with its `?`), refused when it holds a fragment or bytes not allowed on the wire. */
function checkedQuery(rawUrl: string, from: number): string {
  const len = rawUrl.length;
  if (from === len) return '';
  for (let i = from + 1; i < len; i++) {
    const c = rawUrl.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === HASH) throw badPath('forbidden character in query');
  }
  return from === 0 ? rawUrl : rawUrl.slice(from);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(b: number): boolean {
  const l = b | 0x20;
  return (
    (l >= 0x61 && l <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === DOT || b === 0x5f || b === 0x7e
  );
}

/**
 * Decodes percent-encoded unreserved octets, upper-cases the hex of the others, refuses the
 * ones that would change the path's structure when an upstream decodes them (`/`, `\`, `;`
 * unless allowed, NUL and other controls). Decodes exactly once — `%252e` stays `%252e` — and
 * then hands the decoded text to {@link decodedPathProblem}, which refuses what a second
 * decoding, NFKC or a best-fit code page would turn into something else. Literal characters
 * were already vetted by the caller's scan.
 */
function decodePath(s: string, start: number, end: number, allowSemicolon: boolean): string {
  let out = '';
  let copied = start;
  // The decoded octets; only checked when they hold an escaped `%` or non-ASCII: plain escapes
  // of ASCII can form neither a second escape nor a look-alike.
  const bytes = new Uint8Array(end - start);
  let n = 0;
  let needsText = false;
  let nonAscii = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c !== PERCENT) {
      bytes[n++] = c;
      continue;
    }
    const hi = i + 2 < end ? hexValue(s.charCodeAt(i + 1)) : -1;
    const lo = hi === -1 ? -1 : hexValue(s.charCodeAt(i + 2));
    if (lo === -1) throw badPath('invalid percent-encoding');
    const b = (hi << 4) | lo;
    if (b === SLASH || b === BACKSLASH) throw badPath('encoded "/" or "\\" in path');
    if (b < 0x20 || b === 0x7f) throw badPath('encoded NUL or control character in path');
    // Tomcat and Spring cut path parameters before decoding, but a hop that decodes and passes
    // the path on (nginx with a URI in proxy_pass) hands them a literal `;`.
    if (b === SEMICOLON && !allowSemicolon) throw badPath('encoded ";" in path');
    if (b >= 0x80) nonAscii = needsText = true;
    else if (b === PERCENT) needsText = true;
    bytes[n++] = b;
    out += s.slice(copied, i);
    out += isUnreserved(b) ? String.fromCharCode(b) : `%${HEX[hi]}${HEX[lo]}`;
    copied = i + 3;
    i += 2;
  }
  if (needsText) {
    const problem = decodedPathProblem(bytes.subarray(0, n), nonAscii);
    if (problem !== null) throw badPath(problem);
  }
  return out + s.slice(copied, end);
}

/**
 * RFC 3986 §5.2.4 on a path that starts with "/", plus collapsing empty segments (`//`). A final
 * "", "." or ".." segment leaves a trailing slash. Going above the root is refused rather than
 * clamped: no client has a reason to send it.
 */
function removeDotSegments(path: string): string {
  const segments = path.split('/');
  const out: string[] = [];
  const last = segments.length - 1;
  let trailingSlash = false;
  // segments[0] is the "" before the leading "/".
  for (let i = 1; i <= last; i++) {
    const seg = segments[i] as string; // i is within bounds
    if (seg === '..') {
      if (out.pop() === undefined) throw badPath('path climbs above the root');
    } else if (seg !== '' && seg !== '.') {
      out.push(seg);
      continue;
    }
    if (i === last) trailingSlash = true;
  }
  if (out.length === 0) return '/';
  return `/${out.join('/')}${trailingSlash ? '/' : ''}`;
}

function badPath(reason: string): GatewayError {
  return new GatewayError('bad_path', reason);
}
