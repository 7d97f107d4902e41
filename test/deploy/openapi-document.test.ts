/**
 * The admin API's OpenAPI document, as the running gateway serves it, is valid OpenAPI 3.1
 * (@apidevtools/swagger-parser: structure, $refs, and the document's own JSON Schemas), and it
 * says what a client generator needs in the schema rather than in prose (issue 11, item 6).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ADMIN_ERRORS } from '../../src/lifecycle/errors.ts';
import { FORMATS } from '../../src/admin/v1/formats.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { adminApi } from '../helpers/admin.ts';

type Rec = Record<string, unknown>;
interface Response { description: string; content?: Record<string, { schema: Rec; examples?: Record<string, { value: unknown }> }> }
interface Operation { operationId: string; parameters: { name: string; in: string; description?: string; schema: Rec }[]; responses: Record<string, Response> }
interface Doc { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Rec> } }

const TOKEN = 'openapi-doc-token-0123456789abcdef';
let gw: TestGateway;
let doc: Doc;

const operations = (): [string, string, Operation][] =>
  Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => [m.toUpperCase(), path, op] as [string, string, Operation]));

beforeAll(async () => {
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
upstreams: { app: { url: "http://127.0.0.1:9" } }
routes: [{ name: app, path: "/*", upstream: app, action: app:use }]
`);
  const r = await adminApi(gw.adminUrl, TOKEN)<Doc>('GET', '/v1/openapi.json');
  expect(r.status).toBe(200);
  doc = r.body;
});
afterAll(async () => {
  await gw?.close();
});

describe('the served OpenAPI document', () => {
  it('passes @apidevtools/swagger-parser validation (OpenAPI 3.1 schema and every $ref)', async () => {
    const parsed = (await SwaggerParser.validate(structuredClone(doc) as never)) as unknown as Rec;
    expect(parsed['openapi']).toBe('3.1.0');
  });

  it('the validator does catch a broken document (so the test above can fail)', async () => {
    const broken = structuredClone(doc);
    (broken.paths['/v1/keys'] as Rec)['get'] = { responses: { 200: { description: 'x', content: { 'application/json': { schema: { $ref: '#/components/schemas/Nope' } } } } } };
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow(/Nope/);
    const badParam = structuredClone(doc);
    badParam.paths['/v1/keys']?.['get']?.parameters.push({ name: 'limit', in: 'body', schema: {} });
    await expect(SwaggerParser.validate(badParam as never)).rejects.toThrow();
  });

  it('operation ids are unique', () => {
    const ids = operations().map(([, , op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('every operation lists 400, 401, 403, 413, 415 and 503, and 404 when it names a record', () => {
    for (const [method, path, op] of operations()) {
      const statuses = Object.keys(op.responses);
      for (const s of ['400', '401', '403', '413', '415', '503']) expect(statuses, `${method} ${path}`).toContain(s);
      if (path.includes('{')) expect(statuses, `${method} ${path}`).toContain('404');
      expect(statuses.filter((s) => /^2\d\d$/.test(s)), `${method} ${path}: one success status`).toHaveLength(1);
    }
  });

  it('every refusal has an example per code, of the code\'s status, valid against the Error schema', () => {
    const ajv = new Ajv2020({ strict: false });
    for (const [name, re] of Object.entries(FORMATS)) ajv.addFormat(name, re);
    for (const [name, s] of Object.entries(doc.components.schemas)) ajv.addSchema(s, `#/components/schemas/${name}`);
    const validate = ajv.getSchema('#/components/schemas/Error');
    expect(validate).toBeDefined();
    let examples = 0;
    for (const [method, path, op] of operations()) {
      for (const [status, res] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        const json = res.content?.['application/json'];
        expect(json?.schema, `${method} ${path} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
        const ex = Object.entries(json?.examples ?? {});
        expect(ex.length, `${method} ${path} ${status} has examples`).toBeGreaterThan(0);
        for (const [code, { value }] of ex) {
          expect(ADMIN_ERRORS[code as keyof typeof ADMIN_ERRORS], `${method} ${path}: ${code} is a ${status}`).toBe(Number(status));
          expect(validate?.(value), `${method} ${path} ${code}: ${JSON.stringify(validate?.errors)}`).toBe(true);
          expect((value as { error: { code: string } }).error.code).toBe(code);
          examples++;
        }
      }
    }
    expect(examples).toBeGreaterThan(100);
  });

  it('success responses of the record operations carry an example valid against their schema (strictly)', () => {
    const strict = (x: unknown): unknown => {
      if (Array.isArray(x)) return x.map(strict);
      if (typeof x !== 'object' || x === null) return x;
      const o: Rec = Object.fromEntries(Object.entries(x).map(([k, v]) => [k, k === 'examples' ? v : strict(v)]));
      if (o['properties'] !== undefined && o['additionalProperties'] === undefined) o['additionalProperties'] = false;
      return o;
    };
    const ajv = new Ajv2020({ strict: false });
    for (const [name, re] of Object.entries(FORMATS)) ajv.addFormat(name, re);
    for (const [name, s] of Object.entries(doc.components.schemas)) ajv.addSchema(strict(s) as Rec, `#/components/schemas/${name}`);
    let checked = 0;
    for (const [method, path, op] of operations()) {
      for (const [status, res] of Object.entries(op.responses)) {
        const json = res.content?.['application/json'];
        if (Number(status) >= 400 || json === undefined) continue;
        const ex = json.examples?.['example'];
        const target = String(json.schema['$ref'] ?? '').split('/').pop() ?? '';
        if (/^(Principal|Key|KeyWithSecret|Group|KeyUsage)(Page|List)?$/.test(target)) expect(ex, `${method} ${path} ${status} has an example`).toBeDefined();
        if (ex === undefined) continue;
        const validate = ajv.getSchema(`#/components/schemas/${target}`);
        expect(validate?.(ex.value), `${method} ${path} ${status}: ${JSON.stringify(validate?.errors)}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
  });

  it('error codes are an enum of the stable admin codes', () => {
    expect(doc.components.schemas['Error']).toMatchObject({ properties: { error: { properties: { code: { enum: Object.keys(ADMIN_ERRORS) } } } } });
  });

  it('enums and integers are in the schema, not in prose', () => {
    for (const [method, path, op] of operations()) {
      for (const p of op.parameters) {
        const where = `${method} ${path} ?${p.name}`;
        // "active | expired | revoked" in a description is an enum a generator cannot see.
        expect(p.description ?? '', where).not.toMatch(/\w \| \w/);
        expect(p.schema['type'] !== undefined || p.schema['enum'] !== undefined, where).toBe(true);
        if (['limit', 'days'].includes(p.name)) expect(p.schema, where).toMatchObject({ type: 'integer', minimum: 1 });
      }
    }
    const key = doc.components.schemas['Key']?.['properties'] as Record<string, Rec>;
    expect(key['status']?.['enum']).toEqual(['active', 'expired', 'revoked', 'rotated']);
    expect(key['type']?.['enum']).toEqual(['api_key', 'key_pair']);
    expect(key['requests7d']?.['type']).toEqual(['integer', 'null']);
    expect(doc.components.schemas['Principal']).toMatchObject({ properties: { kind: { enum: ['user', 'service'] } } });
    const statusParam = doc.paths['/v1/keys']?.['get']?.parameters.find((p) => p.name === 'status');
    expect(statusParam?.schema['enum']).toEqual(['active', 'expired', 'revoked', 'rotated']);
  });

  it('the key and principal lists are cursor pages; PATCH /v1/keys/{id} takes an expiry', () => {
    for (const [path, item] of [['/v1/principals', 'Principal'], ['/v1/keys', 'Key']] as const) {
      const op = doc.paths[path]?.['get'];
      expect(op?.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['limit', 'cursor']));
      expect(op?.responses['200']?.content?.['application/json']?.schema).toEqual({ $ref: `#/components/schemas/${item}Page` });
      expect(doc.components.schemas[`${item}Page`]).toMatchObject({
        required: ['items', 'nextCursor'],
        properties: { items: { items: { $ref: `#/components/schemas/${item}` } }, nextCursor: { type: ['string', 'null'] } },
      });
    }
    expect(doc.components.schemas['KeyUpdate']?.['properties']).toMatchObject({
      expiresAt: { type: ['string', 'null'], format: 'date-time' }, expiresIn: { oneOf: expect.any(Array) },
    });
  });
});
