import { describe, expect, it } from 'vitest';
import { normalizeTarget } from '../../../src/routing/normalize.ts';
import { GatewayError } from '../../../src/errors.ts';

const reject = { semicolons: 'reject' } as const;
const allow = { semicolons: 'allow' } as const;

function badPath(raw: string, opts: { semicolons: 'reject' | 'allow' } = reject): GatewayError {
  try {
    normalizeTarget(raw, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

describe('normalizeTarget: accepted targets', () => {
  // [raw req.url, path, query]
  const cases: [string, string, string][] = [
    ['/', '/', ''],
    ['/health', '/health', ''],
    ['/a/b/', '/a/b/', ''],
    ['/a/b?x=1', '/a/b', '?x=1'],
    ['/a/b?', '/a/b', '?'],
    ['/?', '/', '?'],
    ['/.well-known/x', '/.well-known/x', ''],
    ['/a/..b/c.', '/a/..b/c.', ''],
    ['/a/...', '/a/...', ''],
    // query is never normalized
    ['/a?a=%2F&b=..', '/a', '?a=%2F&b=..'],
    ['/a/../b?x=/../%2f%zz;', '/b', '?x=/../%2f%zz;'],
    ['/a?b?c', '/a', '?b?c'],
    // unreserved octets decoded, the rest upper-cased
    ['/%61%62%63', '/abc', ''],
    ['/%41%5A%30%39%2D%2E%5F%7E', '/AZ09-._~', ''],
    ['/caf%c3%a9', '/caf%C3%A9', ''],
    ['/a%3Fb?q', '/a%3Fb', '?q'],
    ['/a%23b', '/a%23b', ''],
    ['/a%20b', '/a%20b', ''],
    ['/%7e%7Euser', '/~~user', ''],
    // decoded exactly once; a `%` that is not followed by an escape after that is plain data
    ['/%25', '/%25', ''],
    ['/50%25/x', '/50%25/x', ''],
    ['/%25zz', '/%25zz', ''],
    ['/%25%25', '/%25%25', ''],
    // dot segments (RFC 3986 §5.2.4), after decoding
    ['/a/./b', '/a/b', ''],
    ['/a/b/../c', '/a/c', ''],
    ['/api/%2e%2e/x', '/x', ''],
    ['/api/.%2E/x', '/x', ''],
    ['/api/%2E./x', '/x', ''],
    ['/api/%2e/x', '/api/x', ''],
    ['/a/b/.', '/a/b/', ''],
    ['/a/b/..', '/a/', ''],
    ['/a/b/./', '/a/b/', ''],
    ['/a/..', '/', ''],
    ['/a/../', '/', ''],
    ['/.', '/', ''],
    ['/./', '/', ''],
    ['/a/.?q=1', '/a/', '?q=1'],
    ['/a/..?q=1', '/', '?q=1'],
    // empty segments collapse; trailing slash kept
    ['//api///x', '/api/x', ''],
    ['//', '/', ''],
    ['/a//', '/a/', ''],
    ['/a//b//?q', '/a/b/', '?q'],
    ['/a//../b', '/b', ''],
    // absolute-form (RFC 9112 §3.2.2): the path and query only
    ['http://example.com/a/b?x=1', '/a/b', '?x=1'],
    ['HTTPS://example.com:8443/a/%2e%2e/b', '/b', ''],
    ['http://example.com', '/', ''],
    ['http://example.com?x', '/', '?x'],
    ['http://[::1]:8080/x/', '/x/', ''],
    ['http://h//admin', '/admin', ''],
  ];
  it.each(cases)('%s → %s %s', (raw, path, query) => {
    expect(normalizeTarget(raw, reject)).toEqual({ path, query });
  });

  it('returns the input itself when nothing needs rewriting', () => {
    const raw = '/api/applications/7/x';
    expect(normalizeTarget(raw, reject).path).toBe(raw);
  });

  it('is idempotent', () => {
    for (const [raw] of cases) {
      const once = normalizeTarget(raw, reject);
      expect(normalizeTarget(once.path + once.query, reject)).toEqual(once);
    }
  });
});

describe('normalizeTarget: semicolons', () => {
  it.each(['/admin;jsessionid=1/x', '/admin/x;p', '/;', '/a/;/b', 'http://h/a;b'])('rejects %s by default', (raw) => {
    expect(badPath(raw).code).toBe('bad_path');
  });

  it.each([
    ['/admin;jsessionid=1/x', '/admin;jsessionid=1/x'],
    ['/a/;/../b', '/a/b'],
    ['/a;%2e', '/a;.'],
  ])('keeps %s literally when allowed', (raw, path) => {
    expect(normalizeTarget(raw, allow)).toEqual({ path, query: '' });
  });

  it.each([
    ['/public/..;/admin', 'dot-dot with a parameter'],
    ['/public/..;x=1/admin', 'dot-dot with a named parameter'],
    ['/public/.;/admin', 'dot with a parameter'],
    ['/;x/admin', 'empty segment with a parameter'],
    ['/admin/;', 'trailing parameter-only segment'],
    ['/public/..%3b/admin', 'encoded ";" after dot-dot'],
    ['/public/%2e%2e%3Bx/admin', 'encoded dot-dot and ";"'],
  ])('refuses %s (%s) even when allowed: Tomcat reads it as a dot or empty segment', (raw) => {
    expect(badPath(raw, allow).code).toBe('bad_path');
  });

  it('keeps an encoded ";" in its encoding when allowed', () => {
    expect(normalizeTarget('/a%3bb', allow)).toEqual({ path: '/a%3Bb', query: '' });
  });

  it('never looks at semicolons in the query', () => {
    expect(normalizeTarget('/a?x=1;y=2', reject)).toEqual({ path: '/a', query: '?x=1;y=2' });
  });
});

describe('normalizeTarget: rejected targets', () => {
  const cases: [string, string][] = [
    ['', 'empty'],
    ['*', 'asterisk-form'],
    ['example.com:443', 'authority-form'],
    ['a/b', 'relative'],
    ['ftp://h/a', 'other scheme'],
    ['http:/a', 'malformed absolute-form'],
    ['http:///a', 'empty authority'],
    ['http://user@h/a', 'userinfo'],
    ['http://u:p@h/a', 'userinfo with password'],
    ['/a#b', 'fragment'],
    ['/a?b#c', 'fragment in query'],
    ['/a%2fb', 'encoded slash'],
    ['/a%2Fb', 'encoded slash, upper'],
    ['/a%5cb', 'encoded backslash'],
    ['/a%5Cb', 'encoded backslash, upper'],
    ['/a\\b', 'backslash'],
    ['/a%00', 'encoded NUL'],
    ['/a%3bb', 'encoded ";" (a ";" once a hop decodes it)'],
    ['/%252e%252e/x', 'double-encoded dots'],
    ['/%252E', 'double-encoded dot'],
    ['/%2541', 'double-encoded letter'],
    ['/a\u0000b', 'NUL'],
    ['/a b', 'space'],
    ['/a\tb', 'tab'],
    ['/a\r\nb', 'CRLF'],
    ['/a\u007fb', 'DEL'],
    ['/caf\u00e9', 'non-ASCII'],
    ['/a?b c', 'space in query'],
    ['/a?b\r\nX: y', 'CRLF in query'],
    ['/a%', 'trailing %'],
    ['/a%4', 'truncated escape'],
    ['/a%4?x', 'truncated escape before query'],
    ['/a/%zz', 'non-hex escape'],
    ['/a/%g1', 'non-hex first digit'],
    ['/a/%1g', 'non-hex second digit'],
    ['/..', 'above root'],
    ['/../a', 'above root'],
    ['/a/../..', 'above root, later'],
    ['/%2e%2e/admin', 'encoded above root'],
    ['/a/%2E%2e/%2e./b', 'encoded above root, later'],
    ['http://h/../a', 'absolute-form above root'],
  ];
  it.each(cases)('%j (%s) → bad_path', (raw) => {
    const err = badPath(raw);
    expect(err.code).toBe('bad_path');
    expect(err.status).toBe(400);
  });

  // Spellings a lenient upstream resolves to another path (issue 10 item 3).
  const lenient: [string, string][] = [
    // decoded twice
    ['/%252e%252e/admin', '%2e%2e after one decode'],
    ['/a/%252E%252E/admin', 'upper-case'],
    ['/a/.%252e/admin', 'mixed'],
    ['/a/%25252e%25252e/admin', 'triple-encoded'],
    ['/a%252fadmin', 'double-encoded slash'],
    ['/a%25252Fadmin', 'triple-encoded slash'],
    ['/a%255cadmin', 'double-encoded backslash'],
    ['/a/%255c..%255cadmin', 'double-encoded backslash dot-dot'],
    ['/%2561dmin/x', 'double-encoded letter (admin after two decodes)'],
    ['/a/%25%32%65%25%32%65/admin', '%2e%2e spelled with encoded hex digits'],
    ['/a/%25u002e%25u002e/admin', 'IIS %u escape after one decode'],
    ['/a/%253b/admin', 'double-encoded ";"'],
    // invalid UTF-8
    ['/a/%c0%ae%c0%ae/admin', 'overlong "."'],
    ['/a%c0%afadmin', 'overlong "/"'],
    ['/a/%e0%80%ae%e0%80%ae/admin', 'three-byte overlong "."'],
    ['/a/%f0%80%80%ae/admin', 'four-byte overlong "."'],
    ['/a%c1%9cadmin', 'overlong "\\"'],
    ['/a/%80', 'lone continuation byte'],
    ['/a/%bf%bf', 'continuation bytes'],
    ['/a/%c3', 'truncated two-byte sequence'],
    ['/a/%e2%82', 'truncated three-byte sequence'],
    ['/a/%c3/b', 'truncated before a slash'],
    ['/a/%ed%a0%80', 'UTF-16 surrogate'],
    ['/a/%f4%90%80%80', 'above U+10FFFF'],
    ['/a/%fe', 'byte never valid in UTF-8'],
    ['/a/%ff%fe', 'UTF-16 BOM bytes'],
    // compatibility forms NFKC maps onto path syntax
    ['/a/%ef%bc%8e%ef%bc%8e/admin', 'fullwidth full stops U+FF0E'],
    ['/a%ef%bc%8fadmin', 'fullwidth solidus U+FF0F'],
    ['/a%ef%bc%bcadmin', 'fullwidth reverse solidus U+FF3C'],
    ['/a/%e2%80%a4%e2%80%a4/admin', 'one dot leader U+2024'],
    ['/a/%e2%80%a5/admin', 'two dot leader U+2025'],
    ['/a/%ef%b9%92%ef%b9%92/admin', 'small full stop U+FE52'],
    ['/a%ef%b9%a8admin', 'small reverse solidus U+FE68'],
    ['/a/%ef%bc%85%32%65', 'fullwidth percent U+FF05'],
    ['/a%ef%bc%9bx', 'fullwidth semicolon U+FF1B'],
    ['/%ef%bd%81dmin/x', 'fullwidth letter (admin under NFKC)'],
    ['/%ef%ac%81le', 'ligature fi U+FB01'],
    ['/caf%65%cc%81', 'decomposed é (NFKC composes it)'],
    ['/x/%e2%84%aa', 'Kelvin sign U+212A'],
    ['/x/%c5%bf', 'long s U+017F'],
    // look-alikes NFKC leaves alone but best-fit code pages map
    ['/a%e2%88%95admin', 'division slash U+2215'],
    ['/a%e2%81%84admin', 'fraction slash U+2044'],
    ['/a%e2%88%96admin', 'set minus U+2216'],
    ['/a%e2%a7%b8admin', 'big solidus U+29F8'],
    ['/a%c2%a5admin', 'yen sign U+00A5 (0x5C in code page 932)'],
    ['/a%e2%82%a9admin', 'won sign U+20A9 (0x5C in code page 949)'],
    ['/a/%e3%80%82%e3%80%82/admin', 'ideographic full stop U+3002'],
    ['/a/%ef%bd%a1%ef%bd%a1/admin', 'halfwidth ideographic full stop U+FF61'],
    // controls an upstream may strip, log or cut at
    ['/a%0d%0aX:%20y', 'encoded CRLF'],
    ['/a%09b', 'encoded tab'],
    ['/a%7fb', 'encoded DEL'],
    ['/a%1fb', 'encoded unit separator'],
  ];
  it.each(lenient)('%j (%s) → bad_path', (raw) => {
    expect(badPath(raw).code).toBe('bad_path');
    expect(badPath(raw, allow).code).toBe('bad_path');
  });

  it.each([
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/%e6%97%a5%e6%9c%ac', '/%E6%97%A5%E6%9C%AC'],
    ['/%f0%9f%94%91/x', '/%F0%9F%94%91/x'],
    ['/%d9%85%d8%b1%d8%ad%d8%a8%d8%a7', '/%D9%85%D8%B1%D8%AD%D8%A8%D8%A7'],
    ['/a%c3%a9%25zz', '/a%C3%A9%25zz'],
  ])('accepts NFKC-stable UTF-8 %s', (raw, path) => {
    expect(normalizeTarget(raw, reject)).toEqual({ path, query: '' });
  });

  it('does not echo the path in the error message', () => {
    expect(badPath('/secret-token%zz').message).not.toContain('secret');
  });
});
