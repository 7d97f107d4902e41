/**
 * Example records for the OpenAPI document's success responses (client generators and API
 * browsers show them). test/deploy/openapi-document.test.ts checks each against its schema,
 * strictly, so an example cannot drift from the record it shows.
 */
const principal = {
  id: 'p_0b6c3f4e-8d2a-4d7e-9a51-3c2f1e0d9b8a', name: 'ci-bot', displayName: 'CI deploy bot (platform team)', kind: 'service', roles: ['deployer'], groups: [], org: 'acme',
  disabled: false, createdAt: '2026-11-02T09:14:03.120Z', metadata: { team: 'platform' }, source: 'api',
};
const key = {
  id: 'key_4fT9x0Qa1Lm2Zp7Yc3Vb8Nw', principalId: principal.id, name: 'deploys', purpose: 'CI deploys to staging', prefix: 'kg_4fT9',
  createdAt: '2026-11-02T09:15:40.002Z', createdBy: 'admin-token', expiresAt: '2027-02-01T00:00:00.000Z', lastUsedAt: '2026-12-04T08:01:12.500Z',
  type: 'api_key', status: 'active',
};

export const SUCCESS_EXAMPLES: Record<string, unknown> = {
  Principal: principal,
  Key: key,
  KeyWithSecret: { key, secret: 'kg_4fT9c2Vx8LpQ0rTz5YwN3mKd7HsJ1bGa6FeU9oWiRlCqXyZt', notice: 'This secret is shown once. keygate stores only its hash; store it now.' },
  Group: { name: 'team-a', roles: ['deployer'], resources: { application: ['app-1', 'app-2'] }, createdAt: '2026-10-01T12:00:00.000Z' },
  Me: { principal, permissions: ['keygate:admin:principals:read', 'keygate:admin:keys:read', 'keygate:admin:keys:write', 'keygate:admin:keys:own'], via: 'bearer', keyId: key.id },
  MeToken: {
    principal: null, via: 'session',
    permissions: ['principals', 'keys', 'groups', 'audit', 'webhooks'].flatMap((r) => [`keygate:admin:${r}:read`, `keygate:admin:${r}:write`]).concat('keygate:admin:keys:own'),
  },
  KeyUsage: { keyId: key.id, days: [{ date: '2026-12-03', count: 1204 }, { date: '2026-12-04', count: 311 }], total: 1515 },
};

/** Listed items carry what lists add (7-day counts). */
export const LIST_ITEM_EXAMPLES: Record<string, unknown> = {
  Key: { ...key, requests7d: 8410, quotaLeft: null },
};
