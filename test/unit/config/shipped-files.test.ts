/**
 * The files keygate ships: the embedded default (what `keygate serve` runs with no arguments),
 * the examples, and the schema they are validated against.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { CONFIG_SCHEMA, loadConfigFile } from '../../../src/config/load.ts';
import { formatProblems } from '../../../src/config/format.ts';
import { checkSecretFormat } from '../../../src/credentials/key-format.ts';
import type { GatewayConfig } from '../../../src/config/types.ts';

const CONFIG_DIR = fileURLToPath(new URL('../../../config/', import.meta.url));
const DEFAULT_FILE = `${CONFIG_DIR}keygate.yaml`;

async function load(file: string, env: NodeJS.ProcessEnv = {}): Promise<GatewayConfig> {
  const r = await loadConfigFile(file, env);
  if (!r.ok) expect.fail(formatProblems(r.problems));
  return r.config;
}

describe('config/keygate.yaml (the embedded default)', () => {
  it('loads with an empty environment: loopback only, no Redis, upstream on 127.0.0.1:3000, the development admin token', async () => {
    const c = await load(DEFAULT_FILE);
    expect(c.store.redis).toBe('');
    expect(c.upstreams.get('app')?.url.href).toBe('http://127.0.0.1:3000/');
    expect(c.admin).toEqual({ port: 9090, host: '127.0.0.1', token: 'dev-admin-token-change-me' });
    // A published demo key must not be reachable from the network by default (issue 11).
    expect(c.server.host).toBe('127.0.0.1');
    expect(c.server.port).toBe(8080);
    expect(c.routes.map((r) => r.name)).toEqual(['health', 'app-read', 'app-edit']);
    expect([...c.roles.keys()]).toEqual(['viewer', 'editor', 'admin']);
  });

  it('takes the documented variables from the environment', async () => {
    const c = await load(DEFAULT_FILE, { REDIS_URL: 'redis://r:6379/0', UPSTREAM_URL: 'http://app.internal:8000', KEYGATE_ADMIN_TOKEN: 't0ken', KEYGATE_PORT: '18080', KEYGATE_ADMIN_PORT: '19090', KEYGATE_HOST: '0.0.0.0' });
    expect([c.server.host, c.server.port, c.admin.port]).toEqual(['0.0.0.0', 18080, 19090]);
    expect(c.store.redis).toBe('redis://r:6379/0');
    expect(c.upstreams.get('app')?.url.href).toBe('http://app.internal:8000/');
    expect(c.admin.token).toBe('t0ken');
  });

  it('declares the demo key by the hash of the secret its comment documents, in a form the gateway looks up', async () => {
    const text = readFileSync(DEFAULT_FILE, 'utf8');
    const secret = /demo key's secret is "([^"]+)"/.exec(text)?.[1];
    expect(secret).toBeDefined();
    const c = await load(DEFAULT_FILE);
    const key = c.principals.find((p) => p.name === 'ci-bot')?.keys[0];
    expect(key?.hash).toBe(`sha256:${createHash('sha256').update(secret ?? '').digest('hex')}`);
    // A secret that starts with the keygate prefix but lacks its checksum would be refused
    // before any lookup, and the documented demo would never work.
    expect(checkSecretFormat(secret ?? '', c.keys.prefix)).not.toBe('malformed');
  });
});

describe('config/examples', () => {
  const examples = readdirSync(`${CONFIG_DIR}examples`).filter((f) => f.endsWith('.yaml'));

  it('include minimal.yaml', () => {
    expect(examples).toContain('minimal.yaml');
  });

  it.each(examples)('%s loads', async (name) => {
    const c = await load(`${CONFIG_DIR}examples/${name}`);
    expect(c.routes.length).toBeGreaterThan(0);
  });

  it('minimal.yaml has only upstreams and routes', () => {
    const text = readFileSync(`${CONFIG_DIR}examples/minimal.yaml`, 'utf8');
    expect(text.split('\n').filter((l) => /^[a-z]/.test(l)).map((l) => l.split(':')[0])).toEqual(['upstreams', 'routes']);
  });
});

interface Schema {
  type?: string;
  description?: string;
  default?: unknown;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  oneOf?: Schema[];
}

/** Every field schema, with its path. */
function fields(s: Schema, path = ''): [string, Schema][] {
  const out: [string, Schema][] = [];
  for (const [k, v] of Object.entries(s.properties ?? {})) out.push([`${path}.${k}`, v], ...fields(v, `${path}.${k}`));
  if (s.items !== undefined) out.push(...fields(s.items, `${path}[]`));
  if (typeof s.additionalProperties === 'object') out.push(...fields(s.additionalProperties, `${path}.<name>`));
  return out;
}

/** Every object schema (with its path), including list items and map entries. */
function objects(s: Schema, path = ''): [string, Schema][] {
  const here: [string, Schema][] = s.type === 'object' ? [[path || '/', s]] : [];
  const children = [
    ...Object.entries(s.properties ?? {}).map(([k, v]) => [`${path}.${k}`, v] as const),
    ...(s.items === undefined ? [] : [[`${path}[]`, s.items] as const]),
    ...(typeof s.additionalProperties === 'object' ? [[`${path}.<name>`, s.additionalProperties] as const] : []),
  ];
  return [...here, ...children.flatMap(([p, v]) => objects(v, p))];
}

describe('config/keygate.schema.json', () => {
  const schema = CONFIG_SCHEMA as Schema;

  it('describes every field (the configuration reference is generated from it)', () => {
    expect(fields(schema).filter(([, s]) => (s.description ?? '').length < 10).map(([p]) => p)).toEqual([]);
  });

  it('rejects unknown keys everywhere: each object either lists its fields or is a name → entry map', () => {
    const open = objects(schema).filter(([, s]) => s.additionalProperties !== false && typeof s.additionalProperties !== 'object');
    expect(open.map(([p]) => p)).toEqual([]);
    const maps = objects(schema).filter(([, s]) => typeof s.additionalProperties === 'object').map(([p]) => p);
    expect(maps).toEqual(['.roles', '.limits', '.orgs', '.upstreams']);
  });

  it('has defaults that its own rules accept', () => {
    const ajv = new Ajv({ strict: false });
    const wrong = fields(schema).filter(([, s]) => s.default !== undefined && !ajv.validate(s, s.default)).map(([p]) => p);
    expect(wrong).toEqual([]);
  });
});
