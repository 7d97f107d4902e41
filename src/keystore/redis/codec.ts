import type { GroupRecord, KeyPatch, KeyRecord, PrincipalPatch, PrincipalRecord } from '../types.ts';

/**
 * Records live in Redis hashes, one field per property, so a patch is an HSET/HDEL of the
 * fields it names (atomic without read-modify-write) and Lua can read the fields it checks
 * (`hash`, `expiresAt`, `source`) as plain strings. Re-encoding JSON inside Lua is avoided on
 * purpose: Redis' cjson turns `[]` into `{}`.
 *
 * Field encodings: strings raw, dates as epoch milliseconds (round-trip exactly), booleans
 * `1`/`0`, arrays and maps as JSON.
 */
type FieldKind = 'string' | 'date' | 'bool' | 'json';
type Schema<T> = { readonly [K in keyof Required<T>]: FieldKind };

const PRINCIPAL: Schema<PrincipalRecord> = {
  id: 'string', name: 'string', displayName: 'string', kind: 'string', roles: 'json', groups: 'json', org: 'string',
  disabled: 'bool', createdAt: 'date', metadata: 'json', source: 'string', limit: 'json', quota: 'json',
};
const KEY: Schema<KeyRecord> = {
  id: 'string', principalId: 'string', name: 'string', purpose: 'string', prefix: 'string',
  hash: 'string', createdAt: 'date', createdBy: 'string', expiresAt: 'date', lastUsedAt: 'date',
  revokedAt: 'date', scopes: 'json', type: 'string', rotatedFrom: 'string', rotatedTo: 'string',
  limit: 'json', quota: 'json',
};
const GROUP: Schema<GroupRecord> = { name: 'string', roles: 'json', resources: 'json', createdAt: 'date' };

const PRINCIPAL_REQUIRED = ['id', 'name', 'kind', 'roles', 'groups', 'disabled', 'createdAt', 'metadata', 'source'] as const;
const KEY_REQUIRED = ['id', 'principalId', 'hash', 'createdAt', 'type'] as const;
const GROUP_REQUIRED = ['name', 'roles', 'resources', 'createdAt'] as const;

/** Only these may change through a patch; anything else a caller smuggles in is ignored. */
const PRINCIPAL_PATCHABLE = ['displayName', 'roles', 'groups', 'metadata', 'disabled', 'org', 'limit', 'quota'] as const satisfies readonly (keyof PrincipalPatch)[];
const KEY_PATCHABLE = ['name', 'purpose', 'expiresAt', 'revokedAt', 'scopes', 'rotatedTo', 'limit', 'quota'] as const satisfies readonly (keyof KeyPatch)[];

/** A stored record could not be read back: corrupt or written by an incompatible version. */
export class RecordDecodeError extends Error {
  constructor(what: string) {
    super(`stored ${what} is malformed`);
    this.name = 'RecordDecodeError';
  }
}

function encodeValue(kind: FieldKind, v: unknown): string {
  switch (kind) {
    case 'string': return String(v);
    case 'date': return String((v as Date).getTime());
    case 'bool': return v === true ? '1' : '0';
    case 'json': return JSON.stringify(v);
  }
}

function decodeValue(kind: FieldKind, s: string): unknown {
  switch (kind) {
    case 'string': return s;
    case 'date': return new Date(Number(s));
    case 'bool': return s === '1';
    case 'json': return JSON.parse(s);
  }
}

function encode<T extends object>(schema: Schema<T>, record: T): string[] {
  const out: string[] = [];
  for (const [field, kind] of Object.entries(schema) as [string, FieldKind][]) {
    const v = (record as Record<string, unknown>)[field];
    if (v !== undefined) out.push(field, encodeValue(kind, v));
  }
  return out;
}

function decode<T>(schema: Schema<T>, required: readonly string[], what: string, h: Record<string, string>): T {
  const out: Record<string, unknown> = {};
  try {
    for (const [field, kind] of Object.entries(schema) as [string, FieldKind][]) {
      const s = h[field];
      if (s !== undefined) out[field] = decodeValue(kind, s);
    }
  } catch {
    throw new RecordDecodeError(what);
  }
  for (const f of required) if (out[f] === undefined) throw new RecordDecodeError(what);
  // Every required field is present and each field was decoded by its declared kind.
  return out as T;
}

/** Fields to set and fields to delete: a property present with value `undefined` clears it. */
export interface FieldPatch { set: string[]; del: string[] }

function encodePatch<T extends object>(
  schema: Schema<T>, allowed: readonly string[], required: readonly string[], patch: object,
): FieldPatch {
  const set: string[] = [];
  const del: string[] = [];
  for (const field of allowed) {
    if (!Object.hasOwn(patch, field)) continue;
    const v = (patch as Record<string, unknown>)[field];
    // A required field cannot be cleared: `undefined` there means "leave it".
    if (v === undefined) {
      if (!required.includes(field)) del.push(field);
    } else {
      set.push(field, encodeValue((schema as Record<string, FieldKind>)[field] ?? 'string', v));
    }
  }
  return { set, del };
}

/** `HGETALL` as Lua returns it (a flat field/value list) → an object. */
export function pairsToObject(flat: unknown): Record<string, string> {
  if (!Array.isArray(flat)) throw new RecordDecodeError('reply');
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[String(flat[i])] = String(flat[i + 1]);
  return h;
}

export const encodePrincipal = (p: PrincipalRecord): string[] => encode(PRINCIPAL, p);
export const encodeKey = (k: KeyRecord): string[] => encode(KEY, k);
export const encodeGroup = (g: GroupRecord): string[] => encode(GROUP, g);
export const decodePrincipal = (h: Record<string, string>): PrincipalRecord => decode(PRINCIPAL, PRINCIPAL_REQUIRED, 'principal', h);
export const decodeKey = (h: Record<string, string>): KeyRecord => decode(KEY, KEY_REQUIRED, 'key', h);
export const decodeGroup = (h: Record<string, string>): GroupRecord => decode(GROUP, GROUP_REQUIRED, 'group', h);
export const encodePrincipalPatch = (p: PrincipalPatch): FieldPatch => encodePatch(PRINCIPAL, PRINCIPAL_PATCHABLE, PRINCIPAL_REQUIRED, p);
export const encodeKeyPatch = (p: KeyPatch): FieldPatch => encodePatch(KEY, KEY_PATCHABLE, KEY_REQUIRED, p);
