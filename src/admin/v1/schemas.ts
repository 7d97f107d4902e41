/**
 * JSON Schemas (2020-12) of the admin API's bodies and records. The same objects validate
 * requests (ajv) and are published in the OpenAPI document, so the two cannot drift.
 */
import { auditSchemas } from './audit-routes.ts';
import { webhookSchemas } from './webhook-routes.ts';
import { limitSchemas } from './limit-routes.ts';

const name = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$', description: 'Unique name; header-safe characters only' };
const text = { type: 'string', maxLength: 512, pattern: '^[^\\u0000-\\u001f\\u007f]*$' };
const action = { type: 'string', pattern: '^(\\*|[a-z0-9][a-z0-9._-]*(:([a-z0-9][a-z0-9._-]*|\\*))*)$' };
const stringList = (item: object) => ({ type: 'array', items: item, maxItems: 100, uniqueItems: true });
const lifetime = {
  description: 'Lifetime: `90d`, `12h`, `30m`, `45s`, or a number of days',
  oneOf: [{ type: 'string', pattern: '^[0-9]+[smhd]?$' }, { type: 'integer', minimum: 1 }],
};
const dateTime = { type: 'string', format: 'date-time' };
const resources = {
  type: 'object',
  description: 'Resource type → ids the group grants its roles on',
  additionalProperties: stringList({ type: 'string', minLength: 1, maxLength: 200 }),
  propertyNames: { pattern: '^[a-z][a-z0-9_-]{0,63}$' },
};
const metadata = {
  type: 'object', maxProperties: 32,
  propertyNames: { pattern: '^[A-Za-z0-9._-]{1,64}$' },
  additionalProperties: text,
};

export const schemas = {
  PrincipalCreate: {
    type: 'object', additionalProperties: false, required: ['name', 'kind'],
    properties: { name, kind: { enum: ['user', 'service'] }, roles: stringList(name), groups: stringList(name), org: name, metadata },
  },
  PrincipalUpdate: {
    type: 'object', additionalProperties: false, minProperties: 1,
    properties: { roles: stringList(name), groups: stringList(name), org: name, metadata },
  },
  KeyCreate: {
    type: 'object', additionalProperties: false, required: ['principal'],
    properties: {
      principal: { type: 'string', minLength: 1, maxLength: 200, description: 'Principal id or name' },
      name: text, purpose: text, expiresIn: lifetime, scopes: stringList(action),
      type: { enum: ['api_key', 'key_pair'], default: 'api_key' },
    },
  },
  KeyImport: {
    type: 'object', additionalProperties: false, required: ['principal', 'secret'],
    properties: {
      principal: { type: 'string', minLength: 1, maxLength: 200 },
      secret: { type: 'string', minLength: 16, maxLength: 512, pattern: '^\\S+$', description: 'The existing secret; stored as its hash only' },
      name: text, purpose: text, expiresIn: lifetime, scopes: stringList(action),
    },
  },
  KeyUpdate: { type: 'object', additionalProperties: false, minProperties: 1, properties: { name: text, purpose: text } },
  KeyRotate: {
    type: 'object', additionalProperties: false,
    properties: {
      grace: { ...lifetime, description: 'How long the old secret keeps working (default: not at all)' },
      expiresIn: { ...lifetime, description: 'Lifetime of the new key (default: the old key\'s lifetime, from now), within keys.maxLifetime' },
    },
  },
  GroupCreate: {
    type: 'object', additionalProperties: false, required: ['name'],
    properties: { name, roles: stringList(name), resources },
  },
  GroupUpdate: { type: 'object', additionalProperties: false, minProperties: 1, properties: { roles: stringList(name), resources } },
  Principal: {
    type: 'object', required: ['id', 'name', 'kind', 'roles', 'groups', 'disabled', 'createdAt', 'metadata', 'source'],
    properties: {
      id: { type: 'string' }, name: { type: 'string' }, kind: { enum: ['user', 'service'] }, roles: { type: 'array', items: { type: 'string' } },
      groups: { type: 'array', items: { type: 'string' } }, org: { type: 'string' }, disabled: { type: 'boolean' }, createdAt: dateTime,
      metadata: { type: 'object', additionalProperties: { type: 'string' } }, source: { enum: ['config', 'api'] },
    },
  },
  Key: {
    type: 'object', required: ['id', 'principalId', 'prefix', 'createdAt', 'type', 'status'],
    description: 'A key as listed: never its secret or hash',
    properties: {
      id: { type: 'string' }, principalId: { type: 'string' }, name: { type: 'string' }, purpose: { type: 'string' }, prefix: { type: 'string' },
      createdAt: dateTime, createdBy: { type: 'string' }, expiresAt: dateTime, lastUsedAt: dateTime, revokedAt: dateTime,
      scopes: { type: 'array', items: { type: 'string' } }, type: { enum: ['api_key', 'key_pair'] },
      rotatedFrom: { type: 'string' }, rotatedTo: { type: 'string' }, status: { enum: ['active', 'expired', 'revoked', 'rotated'] },
      requests7d: { type: ['integer', 'null'], minimum: 0, description: 'Lists only: requests over the last 7 UTC days, today included; null when the usage store cannot be read' },
      limit: { description: 'Rate-limit override set through the admin API (docs/limits.md)' },
      quota: { type: 'object', description: 'Quota override set through the admin API (docs/limits.md)' },
      quotaLeft: { type: ['object', 'null'], description: 'Lists only: what is left of the key\'s own quota this period (remaining, resetsAt); null when it has none or the store cannot be read' },
    },
  },
  KeyWithSecret: {
    type: 'object', required: ['key', 'secret', 'notice'],
    properties: {
      key: { $ref: '#/components/schemas/Key' },
      secret: { type: 'string', description: 'Shown exactly once; keygate keeps only its hash' },
      notice: { type: 'string' },
    },
  },
  Group: {
    type: 'object', required: ['name', 'roles', 'resources', 'createdAt'],
    properties: { name: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } }, resources, createdAt: dateTime },
  },
  Error: {
    type: 'object', required: ['error'],
    properties: { error: { type: 'object', required: ['code', 'message'], properties: {
      code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' },
      resource: { type: 'object', description: 'outcome_unknown: the record to look up before retrying', required: ['type', 'id'], properties: { type: { enum: ['principal', 'key', 'group'] }, id: { type: 'string' } } },
    } } },
  },
  ...auditSchemas,
  ...webhookSchemas,
  ...limitSchemas,
} as const;

export type SchemaName = keyof typeof schemas;
