import { afterAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { loadConfigText } from '../../src/config/load.ts';

const YAML = (order: 'bad' | 'good') => `
upstreams: { app: { url: "http://127.0.0.1:9" } }
roles: { viewer: { actions: [app:view] }, editor: { actions: [app:edit] } }
routes:
${order === 'bad'
    ? '  - { name: everything, path: "/api/*", upstream: app, action: app:view }\n  - { name: edit-item, path: "/api/items/:id", methods: [PUT], upstream: app, action: app:edit }'
    : '  - { name: edit-item, path: "/api/items/:id", methods: [PUT], upstream: app, action: app:edit }\n  - { name: everything, path: "/api/*", upstream: app, action: app:view }'}
`;

describe('a shadowed route is logged as a warning', () => {
  let gw: TestGateway | undefined;
  afterAll(async () => {
    await gw?.close();
  });

  it('at start and after a reload that brings one in', async () => {
    gw = await startTestGateway(YAML('good'));
    expect(await gw.logs()).not.toContain('can never match');
    const next = loadConfigText(YAML('bad'), 'reload.yaml', {});
    if (!next.ok) throw new Error('test config invalid');
    await gw.applyConfig(next.config);
    const line = (await gw.logs()).split('\n').find((l) => l.includes('can never match'));
    expect(line).toBeDefined();
    const entry = JSON.parse(line as string) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'warn', route: 'edit-item', shadowedBy: 'everything' });
  });
});
