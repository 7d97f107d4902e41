import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { generateSecret } from '../../src/credentials/key-format.ts';

/**
 * 10k real keygate-format secrets (100 service principals × 100 keys), declared in the YAML by
 * hash only, as an operator would. The secrets go to a file for the wrk script and the clients.
 */
export function makeSecrets(file: string, principals = 100, perPrincipal = 100): string[] {
  const secrets = Array.from({ length: principals * perPrincipal }, () => generateSecret());
  writeFileSync(file, `${secrets.join('\n')}\n`);
  return secrets;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

export function writeKeygateConfig(file: string, o: { port: number; adminPort: number; upstream: string; secrets: string[]; perPrincipal?: number; logLevel?: string }): void {
  const per = o.perPrincipal ?? 100;
  const lines = [
    `server: { port: ${o.port}, host: 127.0.0.1 }`,
    `admin: { port: ${o.adminPort}, host: 127.0.0.1 }`,
    // info = one JSON access-log line per request; stdout goes to /dev/null, so its cost is measured.
    `log: { level: ${o.logLevel ?? 'info'} }`,
    `upstreams: { app: { url: "${o.upstream}", timeout: 30s } }`,
    'roles:',
    '  viewer: { actions: ["application:view"] }',
    '  editor: { actions: ["application:view", "application:edit"] }',
    'routes:',
    '  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET, HEAD], upstream: app, action: "application:view" }',
    '  - { name: app-edit, path: "/api/applications/:appId/*", methods: [POST, PUT], upstream: app, action: "application:edit" }',
    'principals:',
  ];
  for (let p = 0; p * per < o.secrets.length; p++) {
    lines.push(`  - name: bench-${p + 1}`, '    kind: service', '    roles: [editor]', '    keys:');
    for (let k = p * per; k < Math.min(o.secrets.length, (p + 1) * per); k++) {
      lines.push(`      - { id: k${k + 1}, hash: "sha256:${sha256(o.secrets[k] as string)}" }`);
    }
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}
