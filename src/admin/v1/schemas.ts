/**
 * JSON Schemas (2020-12) of the admin API's bodies and records. The same objects validate
 * requests (ajv) and are published in the OpenAPI document, so the two cannot drift.
 */
import { auditSchemas } from './audit-routes.ts';
import { ADMIN_ERRORS } from '../../lifecycle/errors.ts';
import { webhookSchemas } from './webhook-routes.ts';
import { limitSchemas } from './limit-routes.ts';

const name = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$', description: 'Unique name; header-safe characters only' };
/** Free text for screens (lifecycle/display-name.ts checks control and bidi characters, naming the one it refuses). */
const displayName = {
  type: 'string', minLength: 1, maxLength: 200,
  description: 'Full name or description, for screens only: any Unicode text up to 200 characters except control and bidirectional-override characters (400 invalid_input, field displayName). Never forwarded upstream; `name` is the identity.',
};
const text = { type: 'string', maxLength: 512, pattern: '^[^\\u0000-\\u001f\\u007f]*$' };
const action = { type: 'string', pattern: '^(\\*|[a-z0-9][a-z0-9._-]*(:([a-z0-9][a-z0-9._-]*|\\*))*)$' };
const stringList = (item: object) => ({ type: 'array', items: item, maxItems: 100, uniqueItems: true });
const lifetime = {
  description: 'Lifetime: `90d`, `12h`, `30m`, `45s`, or a number of days',
  oneOf: [{ type: 'string', pattern: '^[0-9]+[smhd]?$' }, { type: 'integer', minimum: 1 }],
};
const dateTime = { type: 'string', format: 'date-time' };
const keyStatus = { enum: ['active', 'expired', 'revoked', 'rotated'], description: 'Derived from expiresAt, revokedAt and rotatedTo at the time of the response' };
const principalKind = { enum: ['user', 'service'] };
const keyType = { enum: ['api_key', 'key_pair'] };
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
    properties: { name, displayName, kind: principalKind, roles: stringList(name), groups: stringList(name), org: name, metadata },
  },
  PrincipalUpdate: {
    type: 'object', additionalProperties: false, minProperties: 1,
    properties: {
      displayName: { ...displayName, type: ['string', 'null'], description: `${displayName.description} null removes it.` },
      roles: stringList(name), groups: stringList(name), org: name, metadata,
    },
  },
  KeyCreate: {
    type: 'object', additionalProperties: false, required: ['principal'],
    properties: {
      principal: { type: 'string', minLength: 1, maxLength: 200, description: 'Principal id or name' },
      name: text, purpose: text, expiresIn: lifetime, scopes: stringList(action),
      type: { ...keyType, default: 'api_key' },
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
  KeyUpdate: {
    type: 'object', additionalProperties: false, minProperties: 1,
    description: 'Give expiresIn or expiresAt, not both. Only an active key that was not rotated can change its expiry (409 otherwise); an instant already past is refused (400: POST /v1/keys/{id}/expire ends a key now).',
    properties: {
      name: text, purpose: text,
      expiresIn: { ...lifetime, description: 'New expiry, from now: `90d`, `12h`, `30m`, `45s`, or a number of days' },
      expiresAt: {
        type: ['string', 'null'], format: 'date-time',
        description: 'New expiry as an RFC 3339 date-time in the future; null removes the expiry',
      },
    },
  },
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
      id: { type: 'string' }, name: { type: 'string' }, displayName: { type: 'string', description: 'For screens only; absent when none was given' }, kind: principalKind, roles: { type: 'array', items: { type: 'string' } },
      groups: { type: 'array', items: { type: 'string' } }, org: { type: 'string' }, disabled: { type: 'boolean' }, createdAt: dateTime,
      metadata: { type: 'object', additionalProperties: { type: 'string' } }, source: { enum: ['config', 'api'] },
    },
  },
  Key: {
    type: 'object', required: ['id', 'principalId', 'createdAt', 'type', 'status'],
    description: 'A key as listed: never its secret or hash',
    properties: {
      id: { type: 'string' }, principalId: { type: 'string' }, name: { type: 'string' }, purpose: { type: 'string' },
      prefix: { type: 'string', description: 'First characters of the secret; absent for keys declared in the config file (only their hash is known)' },
      createdAt: dateTime, createdBy: { type: 'string' }, expiresAt: dateTime, lastUsedAt: dateTime, revokedAt: dateTime,
      scopes: { type: 'array', items: { type: 'string' } }, type: keyType,
      rotatedFrom: { type: 'string' }, rotatedTo: { type: 'string' }, status: keyStatus,
      requests7d: { type: ['integer', 'null'], minimum: 0, description: 'Lists only: requests over the last 7 UTC days, today included; null when the usage store cannot be read' },
      limit: { $ref: '#/components/schemas/LimitOverride', description: 'Rate-limit override set through the admin API (docs/limits.md)' },
      quota: { $ref: '#/components/schemas/QuotaOverride', description: 'Quota override set through the admin API (docs/limits.md)' },
      quotaLeft: {
        type: ['object', 'null'], description: 'Lists only: what is left of the key\'s own quota this period; null when it has none or the store cannot be read',
        required: ['remaining', 'resetsAt'],
        properties: { remaining: { type: 'integer', minimum: 0 }, resetsAt: { type: ['string', 'null'], format: 'date-time' } },
      },
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
  Me: {
    type: 'object', required: ['principal', 'permissions', 'via'],
    description: 'GET /v1/me: the caller',
    properties: {
      principal: {
        description: 'The caller\'s principal: the whole record, or only its id, name and kind when the store cannot be read; null for the admin token',
        anyOf: [
          { $ref: '#/components/schemas/Principal' },
          { type: 'object', required: ['id', 'name', 'kind'], properties: { id: { type: 'string' }, name: { type: 'string' }, kind: principalKind } },
          { type: 'null' },
        ],
      },
      permissions: { type: 'array', items: { type: 'string' }, description: 'The admin actions the caller may take (its principal\'s roles narrowed by its key\'s scopes), each spelled out' },
      via: { enum: ['bearer', 'session'], description: 'How the caller authenticated: Authorization: Bearer, or the console\'s session cookie' },
      keyId: { type: 'string', description: 'The key the caller authenticated with, directly or by the session it opened; absent for the admin token and OIDC sessions' },
    },
  },
  Error: {
    type: 'object', required: ['error'],
    properties: { error: { type: 'object', required: ['code', 'message'], properties: {
      code: { enum: Object.keys(ADMIN_ERRORS), description: 'Stable: clients and alerts key on it (docs/errors.md)' },
      message: { type: 'string', description: 'For people; may change between versions' },
      field: { type: 'string', description: 'invalid_input: the offending body field or query parameter' },
      resource: { type: 'object', description: 'outcome_unknown: the record to look up before retrying', required: ['type', 'id'], properties: { type: { enum: ['principal', 'key', 'group'] }, id: { type: 'string' } } },
    } } },
  },
  ...auditSchemas,
  ...webhookSchemas,
  ...limitSchemas,
} as const;

export type SchemaName = keyof typeof schemas;
