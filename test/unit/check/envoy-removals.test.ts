import { describe, expect, it } from 'vitest';
import { envoyRemovals } from '../../../src/check/listener.ts';

/**
 * `x-envoy-auth-headers-to-remove` of an allowed Envoy HTTP answer. Envoy sets the answer's
 * allowed_upstream_headers first and removes the listed names after (ext_authz.cc, onComplete):
 * a name keygate answers with a value is never listed, a name answered empty always is.
 */
const NAMES = ['X-Authenticated-User', 'X-Authenticated-Id', 'X-Authenticated-Kind', 'X-Authenticated-Key-Id', 'X-Authenticated-Roles', 'X-Authenticated-Org'];
const byLower = new Map(NAMES.map((n) => [n.toLowerCase(), n]));
const alice = { 'X-Authenticated-User': 'alice', 'X-Authenticated-Id': 'cfg:alice', 'X-Authenticated-Kind': 'user', 'X-Authenticated-Key-Id': 'alice-1', 'X-Authenticated-Roles': 'editor' };

const allowed = (identity: Record<string, string>, removeHeaders: string[]) => ({ allowed: true as const, identity, removeHeaders, requestId: 'r' });

describe('envoyRemovals', () => {
  const cases: [string, Record<string, string>, string[], string][] = [
    ['the credential only', alice, ['authorization'], 'authorization'],
    ['a client-sent name keygate sets with a value is left to the overwrite', alice, ['authorization', 'x-authenticated-user', 'x-authenticated-roles'], 'authorization'],
    ['a client-sent name keygate answers empty (no org) stays listed', alice, ['authorization', 'x-authenticated-org'], 'authorization,x-authenticated-org'],
    ['an org keygate sets is not listed', { ...alice, 'X-Authenticated-Org': 'acme' }, ['x-authenticated-org'], ''],
    ['an empty value counts as not set (roles of a principal with none)', { ...alice, 'X-Authenticated-Roles': '' }, ['x-authenticated-roles'], 'x-authenticated-roles'],
    ['identity names keygate never sets are listed', alice, ['x-authenticated-admin', 'x-authenticated'], 'x-authenticated-admin,x-authenticated'],
    ['an underscore spelling is another header: listed', alice, ['x_authenticated_user'], 'x_authenticated_user'],
    ['a public route sets nothing: every client-sent identity name is listed', {}, ['x-authenticated-user', 'x-authenticated-org'], 'x-authenticated-user,x-authenticated-org'],
    ['overrides the proxy must remove are listed', alice, ['authorization', 'x-http-method-override', 'x-rewrite-url'], 'authorization,x-http-method-override,x-rewrite-url'],
    ['nothing to remove', alice, [], ''],
  ];
  for (const [name, identity, remove, expected] of cases) {
    it(name, () => {
      expect(envoyRemovals(allowed(identity, remove), byLower)).toBe(expected);
    });
  }
});
