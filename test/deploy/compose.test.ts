/**
 * docker-compose.yml and the keygate config it mounts. No Docker engine is needed: the compose
 * file is parsed and checked for what `docker compose up` relies on, and the mounted config goes
 * through the real `keygate check-config` with the environment compose would give it. (The
 * walkthrough in docs/operations.md is run for real in doc-examples.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT, checkConfigText, composeEnvironment, envReferences, isObject, read, readYaml, type JsonObject } from './support.ts';

const compose = readYaml('docker-compose.yml');
const services = (isObject(compose) && isObject(compose['services']) ? compose['services'] : {}) as Record<string, JsonObject>;
const keygate = services['keygate'] ?? {};
const CONFIG = 'deploy/compose/keygate.yaml';


describe('docker-compose.yml', () => {
  it('runs Redis, an example upstream and keygate built from this repo', () => {
    expect(Object.keys(services).sort()).toEqual(['keygate', 'redis', 'whoami']);
    expect(keygate['build']).toBe('.');
    for (const [name, svc] of Object.entries(services)) {
      if (svc['image'] === undefined || name === 'keygate') continue;
      expect(String(svc['image']), `${name} is pinned to an exact version`).toMatch(/:v?\d+\.\d+\.\d+[^:]*$/);
    }
    const depends = keygate['depends_on'] as JsonObject;
    expect(depends['redis']).toEqual({ condition: 'service_healthy' });
    expect(isObject(services['redis']?.['healthcheck'])).toBe(true);
  });

  it('runs keygate hardened: read-only root, no capabilities, no privilege gain', () => {
    expect(keygate['read_only']).toBe(true);
    expect(keygate['cap_drop']).toEqual(['ALL']);
    expect(keygate['security_opt']).toContain('no-new-privileges:true');
  });

  it('mounts the config at the image\'s documented path and publishes both listeners on loopback only', () => {
    expect(existsSync(join(ROOT, CONFIG))).toBe(true);
    expect(keygate['volumes']).toContain(`./${CONFIG}:/etc/keygate/keygate.yaml:ro`);
    const config = parse(read(CONFIG)) as { server: { port: number }; admin: { port: number } };
    const ports = (keygate['ports'] as string[]).map(String);
    expect(ports).toEqual([`127.0.0.1:8080:${config.server.port}`, `127.0.0.1:9090:${config.admin.port}`]);
  });

  it('gives keygate every ${VAR} its config needs without a default', () => {
    // The values, not the comments.
    const text = JSON.stringify(parse(read(CONFIG)));
    const required = [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] as string);
    expect(required.length).toBeGreaterThan(0);
    const env = composeEnvironment();
    for (const name of required) expect(env[name], `${name} in keygate.environment`).toBeTruthy();
    for (const name of envReferences(text)) expect(Object.keys(env), `${name} is declared`).toContain(name);
    expect(env['KEYGATE_ADMIN_TOKEN']).toBe('dev-admin-token-change-me');
  });

  it('mounts a config that passes keygate check-config with the compose environment', async () => {
    const r = await checkConfigText(read(CONFIG), composeEnvironment());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
