import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateSecret } from '../credentials/key-format.ts';
import { hashSecret } from '../credentials/hash.ts';
import { EXIT, type CommandResult } from './exit-codes.ts';

/**
 * The starter config `keygate init` writes. Both secrets are stored as hashes only (the file can
 * be committed); the admin key is a declared key whose principal holds `*` (so `keygate:admin`),
 * which the admin API accepts as a Bearer token exactly like `admin.token`, without putting a
 * plaintext token in the file. Ports come from the environment so two instances can coexist.
 */
export function starterConfig(adminHash: string, demoHash: string): string {
  return `# Written by \`keygate init\`. Reference: docs/configuration.md; check with \`keygate check-config keygate.yaml\`.
# Both keys below are stored as SHA-256 hashes; their secrets were printed once, by init.
# Listeners bind loopback: set host: 0.0.0.0 (behind a firewall) to serve other machines.
server: { host: 127.0.0.1, port: "\${KEYGATE_PORT:-8080}" }
admin:  { host: 127.0.0.1, port: "\${KEYGATE_ADMIN_PORT:-9090}" }
store:  { redis: "\${REDIS_URL:-}" }          # empty: embedded in-memory store (keys created over the API live until restart)
identity: { header: X-Authenticated-User }     # siblings: -Id, -Kind, -Key-Id, -Roles, -Org
credentials: { bearer: true, hideCredentials: true }
roles:
  viewer: { actions: [application:view] }
  editor: { actions: [application:view, application:edit] }
  admin:  { actions: ["*"] }
upstreams:
  app: { url: "\${UPSTREAM_URL:-http://127.0.0.1:3000}", timeout: 30s }
routes:
  - { name: health,   path: /health, upstream: app, public: true }
  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET, HEAD], upstream: app, action: application:view }
  - { name: app-edit, path: "/api/applications/:appId/*", methods: [POST, PUT, PATCH, DELETE], upstream: app, action: application:edit }
principals:
  - name: admin                                # the admin API and CLI: KEYGATE_ADMIN_TOKEN=<admin key>
    kind: user
    roles: [admin]
    keys: [{ id: admin-1, hash: "sha256:${adminHash}" }]
  - name: demo
    kind: service
    roles: [viewer]
    keys: [{ id: demo-1, hash: "sha256:${demoHash}" }]
`;
}

/**
 * `keygate init [--force] [FILE]`: write a starter config (default ./keygate.yaml, which
 * `keygate serve` picks up from the working directory) with a fresh admin key and demo key,
 * printing each secret once. Refuses to overwrite an existing file unless --force.
 */
export function initCommand(args: string[]): CommandResult {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { force: { type: 'boolean', short: 'f' } } });
  if (positionals.length > 1) {
    process.stderr.write('keygate: init takes at most one FILE\nRun "keygate --help" for usage.\n');
    return EXIT.usage;
  }
  const file = positionals[0] ?? 'keygate.yaml';
  const adminKey = generateSecret();
  const demoKey = generateSecret();
  try {
    // 'wx' makes "does it exist" and "create it" one step: no window for a race to clobber a file.
    writeFileSync(file, starterConfig(hashSecret(adminKey), hashSecret(demoKey)), { flag: values.force === true ? 'w' : 'wx', mode: 0o644 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      process.stderr.write(`keygate: ${file} exists; not overwriting it (pass --force to replace it)\n`);
      return EXIT.failure;
    }
    process.stderr.write(`keygate: cannot write ${file}: ${code ?? (e as Error).message}\n`);
    return EXIT.failure;
  }
  process.stdout.write(`Wrote ${file}. These secrets are shown once; only their hashes are in the file.

  admin key (admin API and CLI):  ${adminKey}
  demo key  (role viewer):        ${demoKey}

Next:
  keygate check-config ${file}
  keygate serve${file === 'keygate.yaml' ? '' : ` --config ${file}`}
  export KEYGATE_ADMIN_TOKEN=${adminKey}   # then: keygate principals list
  curl -H 'Authorization: Bearer ${demoKey}' http://127.0.0.1:8080/api/applications/app-1/status
`);
  return EXIT.ok;
}
