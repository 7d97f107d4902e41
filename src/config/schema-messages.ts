import type { ErrorObject } from 'ajv';
import { child } from './positions.ts';
import { closest } from '../suggest.ts';

/** One schema problem in the config's words: where (JSON pointer), and why. */
export interface SchemaProblem {
  path: string;
  /** Report at this key of the mapping at `parent` (unknown fields, bad names) rather than at its value. */
  key?: string;
  /** Report at `parent` (a missing field has no node of its own). */
  parent: string;
  message: string;
  /** The value is not even the right kind of thing: cross-field checks below it would only add noise. */
  wrongType: boolean;
}

/** Patterns of the schema, said in words (the regex is still in the schema and the generated reference). */
const PATTERN_HINTS: Record<string, string> = {
  '^[0-9]+(ms|s|m|h|d)$': 'must be a duration like 500ms, 30s, 5m, 1h or 90d',
  '^(sha256|hmac-sha256):[0-9a-f]{64}$': 'must be sha256:<64 lower-case hex digits> (or hmac-sha256:… with keys.pepper); make it with keygate hash-key',
  "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$": 'must be an HTTP header name (letters, digits and !#$%&\'*+.^_`|~-)',
  '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$': 'must be a name: a letter or digit, then letters, digits, ".", "_" or "-" (64 at most)',
  '^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$': 'must be a name: a letter or digit, then letters, digits, ".", "_", "@" or "-" (128 at most)',
  '^(\\*|[a-z0-9][a-z0-9._-]*(:([a-z0-9][a-z0-9._-]*|\\*))*)$': 'must be an action like application:view, application:* or *',
  '^/[^\\s?#]*$': 'must be a path starting with "/", without spaces, "?" or "#"',
  '^https?://[^\\s?#]+$': 'must be an http:// or https:// URL without spaces, query or fragment',
  '^(|rediss?://.+)$': 'must be empty or a redis:// or rediss:// URL',
  '^[A-Za-z_][A-Za-z0-9_]*$': 'must be a parameter name: letters, digits and "_", not starting with a digit',
};

const HOST_HINT = 'must be a host name like api.example.com or *.example.com (no port)';
const DATE_HINT = 'must be an ISO 8601 date (2027-01-31) or date-time with a zone (2027-01-31T12:00:00Z)';

function patternHint(pattern: string): string {
  if (pattern.startsWith('^(\\*\\.)?')) return HOST_HINT;
  if (pattern.startsWith('^[0-9]{4}-')) return DATE_HINT;
  return PATTERN_HINTS[pattern] ?? `must match ${pattern}`;
}

const TYPE_WORDS: Record<string, string> = { integer: 'a whole number', number: 'a number', string: 'a string', boolean: 'true or false', array: 'a list', object: 'a mapping' };
const typeWord = (t: string): string => TYPE_WORDS[t] ?? t;
/** Fields whose values are secrets (or URLs that may carry one): never echoed into messages, which end up in logs. */
const SECRET = /^\/(admin\/token|keys\/pepper|tokens\/signingKeys\/[0-9]+\/secret|store\/redis|store\/password|store\/sentinel\/password)$/;

function got(data: unknown, path: string): string {
  if (SECRET.test(path)) return 'value not shown';
  const text = data === null || data === undefined ? 'nothing' : JSON.stringify(data).replace(/\/\/[^/@\s"]*@/g, '//***@');
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Fields that existed once, by path: their "unknown field" message says what replaced them. */
const REMOVED: Record<string, string> = {
  '/server/trustForwarded': 'removed: list the addresses or CIDRs of the proxies in front of keygate under server.trustedProxies (e.g. [10.0.0.0/8])',
};

function one(e: ErrorObject): SchemaProblem {
  const at = e.instancePath;
  const p = e.params as Record<string, unknown>;
  const base = { path: at, parent: at, wrongType: false };
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p['additionalProperty']);
      const removed = REMOVED[child(at, key)];
      if (removed !== undefined) return { ...base, path: child(at, key), key, message: `unknown field "${key}": ${removed}` };
      const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const guess = closest(key, allowed);
      const message = `unknown field "${key}"${guess === undefined ? '' : ` (did you mean "${guess}"?)`}${allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ''}`;
      return { ...base, path: child(at, key), key, message };
    }
    case 'propertyNames': {
      const key = String(p['propertyName']);
      const pattern = (e.parentSchema as { propertyNames?: { pattern?: string } } | undefined)?.propertyNames?.pattern;
      return { ...base, path: child(at, key), key, message: `invalid name "${key}": ${pattern === undefined ? 'not allowed' : patternHint(pattern)}` };
    }
    case 'required': {
      const missing = String(p['missingProperty']);
      return { ...base, path: child(at, missing), message: `missing required field "${missing}"` };
    }
    case 'type': {
      // `timeout: 30` is a duration without its unit: say so rather than "must be a string".
      const pattern = (e.parentSchema as { pattern?: string } | undefined)?.pattern;
      const want = pattern !== undefined && pattern in PATTERN_HINTS ? patternHint(pattern) : `must be ${String(p['type']).split(',').map(typeWord).join(' or ')}`;
      return { ...base, wrongType: true, message: `${want} (got ${got(e.data, at)})` };
    }
    case 'enum':
      return { ...base, message: `must be one of ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')} (got ${got(e.data, at)})` };
    case 'pattern':
      return { ...base, message: `${patternHint(String(p['pattern']))} (got ${got(e.data, at)})` };
    case 'minimum':
    case 'maximum':
      return { ...base, message: `must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${String(p['limit'])} (got ${got(e.data, at)})` };
    case 'minItems':
      return { ...base, message: `needs at least ${String(p['limit'])} item${p['limit'] === 1 ? '' : 's'}` };
    case 'minProperties':
      return { ...base, message: `needs at least ${String(p['limit'])} entr${p['limit'] === 1 ? 'y' : 'ies'}` };
    case 'minLength':
      return { ...base, message: p['limit'] === 1 ? 'must not be empty' : `must be at least ${String(p['limit'])} characters` };
    case 'maxLength':
      return { ...base, message: `must be at most ${String(p['limit'])} characters` };
    case 'uniqueItems':
      return { ...base, message: `lists the same item twice (items ${String(p['j'])} and ${String(p['i'])})` };
    default:
      return { ...base, message: e.message ?? 'is invalid' };
  }
}

/**
 * ajv errors → problems, one per mistake. A `oneOf` (`host: name or [names]`) fails with one
 * error per branch: when every branch failed on type they become one "must be a string or a
 * list"; otherwise the type errors of the branches the value clearly did not mean are dropped.
 */
export function schemaProblems(errors: ErrorObject[]): SchemaProblem[] {
  const drop = new Set<ErrorObject>();
  const merged = new Map<ErrorObject, SchemaProblem>();
  for (const e of errors) {
    if (e.schemaPath.includes('/propertyNames/')) drop.add(e); // the propertyNames error itself names the key
    if (e.keyword !== 'oneOf' && e.keyword !== 'anyOf') continue;
    drop.add(e);
    const branches = errors.filter((b) => b.schemaPath.startsWith(`${e.schemaPath}/`));
    const typeOnly = branches.filter((b) => b.keyword === 'type' && b.instancePath === e.instancePath);
    for (const b of typeOnly) drop.add(b);
    // A branch whose type the value does not have says nothing more about it (`workers: 0` is
    // not "must be one of auto": it is an integer below the minimum).
    const branchOf = (b: ErrorObject) => b.schemaPath.slice(e.schemaPath.length + 1).split('/')[0];
    const failedOnType = new Set(typeOnly.map(branchOf));
    for (const b of branches) if (b.instancePath === e.instancePath && failedOnType.has(branchOf(b))) drop.add(b);
    if (branches.length > 0 && branches.every((b) => failedOnType.has(branchOf(b)))) {
      const types = typeOnly.map((b) => typeWord(String((b.params as { type: string }).type)));
      merged.set(e, { path: e.instancePath, parent: e.instancePath, wrongType: true, message: `must be ${types.join(' or ')} (got ${got(e.data, e.instancePath)})` });
    }
  }
  const out: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const p = merged.get(e) ?? (drop.has(e) ? undefined : one(e));
    if (p === undefined) continue;
    const id = `${p.path}|${p.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(p);
  }
  return out;
}
