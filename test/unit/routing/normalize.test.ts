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
    ['/a%3bb', '/a%3Bb', ''],
    ['/a%3Fb?q', '/a%3Fb', '?q'],
    ['/a%23b', '/a%23b', ''],
    ['/a%20b', '/a%20b', ''],
    ['/%7e%7Euser', '/~~user', ''],
    // decoded exactly once
    ['/%252e%252e/x', '/%252e%252e/x', ''],
    ['/%252E', '/%252E', ''],
    ['/%25', '/%25', ''],
    ['/%2541', '/%2541', ''],
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

  it('does not echo the path in the error message', () => {
    expect(badPath('/secret-token%zz').message).not.toContain('secret');
  });
});
