import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';

/**
 * Issue 13: `check.accessLog: refusals` leaves allowed decisions out of the access log (the
 * proxy in front logs every request); every decision, allowed or refused, is still in the
 * audit trail and in keygate_check_decisions_total. `all` logs every one. Unset, it is
 * `refusals` while the audit trail is on and `all` when it is off: an allowed decision always
 * has a record of its own.
 */
const ADMIN = 'check-access-log-admin-token-0123456789';
const viewer = newKey();

const yaml = (check: string, audit = '') => `
admin: { token: "${ADMIN}" }
${audit}
check: ${check}
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: health, path: /health, public: true }
  - { name: app-read, path: "/api/*", methods: [GET], action: application:view }
  - { name: app-edit, path: "/api/*", methods: [DELETE], action: application:edit }
principals:
  - { name: vera, kind: user, roles: [viewer], keys: [{ id: vera-1, hash: "${viewer.hash}" }] }
`;

let refusals: TestGateway;
let all: TestGateway;
let unaudited: TestGateway;
beforeAll(async () => {
  refusals = await startTestGateway(yaml('{}'));
  all = await startTestGateway(yaml('{ accessLog: all }'));
  unaudited = await startTestGateway(yaml('{}', 'audit: { enabled: false }'));
});
afterAll(async () => {
  await refusals?.close();
  await all?.close();
  await unaudited?.close();
});

async function check(gw: TestGateway, method: string, uri: string): Promise<{ status: number; id: string }> {
  const res = await request(`${gw.checkUrl}/check`, { headers: { 'x-original-method': method, 'x-original-uri': uri, authorization: `Bearer ${viewer.secret}` } });
  await res.body.dump();
  return { status: res.statusCode, id: String(res.headers['x-request-id']) };
}

async function accessLines(gw: TestGateway): Promise<{ reqId: string; status: number }[]> {
  return (await gw.logs()).split('\n').filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l) as { reqId: string; status: number });
}

async function audited(gw: TestGateway, requestId: string): Promise<{ decision: string } | undefined> {
  for (let i = 0; i < 100; i++) {
    const r = await request(`${gw.adminUrl}/v1/audit?limit=1000`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const page = (await r.body.json()) as { items: { requestId: string; decision: string }[] };
    const hit = page.items.find((e) => e.requestId === requestId);
    if (hit !== undefined) return hit;
    await new Promise((res) => setTimeout(res, 20)); // the trail is written off the answer's path
  }
  return undefined;
}

async function decisions(gw: TestGateway, route: string, result: string): Promise<number> {
  const text = await (await request(`${gw.adminUrl}/metrics`)).body.text();
  const m = new RegExp(`^keygate_check_decisions_total\\{mode="nginx",route="${route}",result="${result}"\\} (\\d+)$`, 'm').exec(text);
  return Number(m?.[1] ?? 0);
}

describe('check.accessLog', () => {
  it('refusals (the default with the audit trail on): an allowed decision has no access line, a refusal has one; both are audited and counted', async () => {
    const ok = await check(refusals, 'GET', '/api/things');
    const no = await check(refusals, 'DELETE', '/api/things');
    expect([ok.status, no.status]).toEqual([200, 403]);
    const lines = await accessLines(refusals);
    expect(lines.map((l) => l.reqId)).not.toContain(ok.id);
    expect(lines).toContainEqual(expect.objectContaining({ reqId: no.id, status: 403 }));
    expect(await audited(refusals, ok.id)).toMatchObject({ decision: 'allowed' });
    expect(await audited(refusals, no.id)).toMatchObject({ decision: 'denied' });
    expect(await decisions(refusals, 'app-read', 'allowed')).toBe(1);
    expect(await decisions(refusals, 'app-edit', 'forbidden')).toBe(1);
  });

  it('refusals: an allowed decision the audit trail does not record (a public route) keeps its line', async () => {
    const ok = await check(refusals, 'GET', '/health');
    expect(ok.status).toBe(200);
    expect(await accessLines(refusals)).toContainEqual(expect.objectContaining({ reqId: ok.id, status: 200 }));
  });

  for (const [name, gw] of [['all', () => all], ['unset with the audit trail off', () => unaudited]] as const) {
    it(`${name}: every decision has its access line`, async () => {
      const ok = await check(gw(), 'GET', '/api/things');
      const no = await check(gw(), 'DELETE', '/api/things');
      const lines = await accessLines(gw());
      expect(lines).toContainEqual(expect.objectContaining({ reqId: ok.id, status: 200 }));
      expect(lines).toContainEqual(expect.objectContaining({ reqId: no.id, status: 403 }));
    });
  }
});
