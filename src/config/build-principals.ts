import type { DeclaredKey, DeclaredPrincipal, OrgConfig, RoleConfig } from './types.ts';
import { displayNameProblem } from '../lifecycle/display-name.ts';
import { bool, defined, list, obj, str, strings, type Obj, type Report } from './raw.ts';
import { readQuota } from './build-limits.ts';

const limitOf = (v: Obj): string | null => (v['limit'] === undefined ? null : str(v['limit']));

export function buildRoles(raw: Obj): Map<string, RoleConfig> {
  return new Map(Object.entries(raw).map(([name, v]) => {
    const role: RoleConfig = { name, actions: strings(obj(v)['actions']), serviceOnly: bool(obj(v)['serviceOnly']) };
    const limit = limitOf(obj(v));
    if (limit !== null) role.limit = limit;
    return [name, role];
  }));
}

/**
 * Keys are declared in several places (principals, orgs) but resolved by id and by hash from one
 * store, so both must be unique across the whole file.
 */
export class KeyRegistry {
  readonly #ids = new Map<string, string>();
  readonly #hashes = new Map<string, string>();
  readonly #algorithm: 'sha256' | 'hmac-sha256';
  readonly #report: Report;
  readonly #lineOf: (path: string) => number;

  constructor(pepper: string, report: Report, lineOf: (path: string) => number) {
    this.#algorithm = pepper === '' ? 'sha256' : 'hmac-sha256';
    this.#report = report;
    this.#lineOf = lineOf;
  }

  keys(raw: unknown, at: string): DeclaredKey[] {
    return list(raw).map(obj).map((k, j) => {
      const here = `${at}/${j}`;
      const id = str(k['id']);
      const hash = str(k['hash']);
      const firstId = this.#ids.get(id);
      if (firstId !== undefined) this.#report(`${here}/id`, `key id "${id}" is already used at ${firstId} (line ${this.#lineOf(firstId)})`);
      else this.#ids.set(id, here);
      if (hash !== '' && !hash.startsWith(`${this.#algorithm}:`)) {
        const why = this.#algorithm === 'sha256' ? 'no keys.pepper is set' : 'keys.pepper is set';
        this.#report(`${here}/hash`, `must be ${this.#algorithm}:<hex> because ${why}; make it with keygate hash-key`);
      }
      const firstHash = this.#hashes.get(hash);
      if (firstHash !== undefined) this.#report(`${here}/hash`, `the same secret is already declared at ${firstHash} (line ${this.#lineOf(firstHash)})`);
      else if (hash !== '') this.#hashes.set(hash, here);
      const key: DeclaredKey = { id, hash };
      if (k['name'] !== undefined) key.name = str(k['name']);
      const limit = limitOf(k);
      if (limit !== null) key.limit = limit;
      const quota = readQuota(k['quota']);
      if (quota !== undefined) key.quota = quota;
      if (k['expiresAt'] !== undefined) {
        const expiresAt = isoDate(str(k['expiresAt']));
        if (expiresAt === null) this.#report(`${here}/expiresAt`, `"${str(k['expiresAt'])}" is not a calendar date`);
        else key.expiresAt = expiresAt;
      }
      return key;
    });
  }
}

/** `2027-01-31` (midnight UTC) or a date-time with a zone; null for impossible dates like Feb 30, which `Date` would roll over. */
function isoDate(text: string): Date | null {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})/.exec(text);
  const d = new Date(text);
  if (m === null || Number.isNaN(d.getTime())) return null;
  const [y, mo, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(y, mo - 1, day));
  return check.getUTCFullYear() === y && check.getUTCMonth() === mo - 1 && check.getUTCDate() === day ? d : null;
}

export function buildOrgs(raw: Obj, registry: KeyRegistry): Map<string, OrgConfig> {
  return new Map(Object.entries(raw).map(([name, v]) => {
    const org: OrgConfig = { name, keys: registry.keys(obj(v)['keys'], `/orgs/${name}/keys`) };
    const limit = limitOf(obj(v));
    if (limit !== null) org.limit = limit;
    const quota = readQuota(obj(v)['quota']);
    if (quota !== undefined) org.quota = quota;
    return [name, org];
  }));
}

export function buildPrincipals(raw: unknown[], roles: Map<string, RoleConfig>, registry: KeyRegistry, report: Report, lineOf: (path: string) => number): DeclaredPrincipal[] {
  const seen = new Map<string, string>();
  return raw.map((v, i) => {
    const at = `/principals/${i}`;
    const p = obj(v);
    const name = str(p['name']);
    const first = seen.get(name);
    if (first !== undefined) report(`${at}/name`, `principal name "${name}" is already used at ${first} (line ${lineOf(first)})`);
    else seen.set(name, at);
    const kind = p['kind'] === 'service' ? 'service' : 'user';
    const pRoles = strings(p['roles']);
    pRoles.forEach((r, j) => {
      const role = roles.get(r);
      if (role === undefined) report(`${at}/roles/${j}`, `role "${r}" is not defined (defined: ${defined(roles.keys())})`);
      else if (role.serviceOnly && kind !== 'service') report(`${at}/roles/${j}`, `role "${r}" may only be given to service principals`);
    });
    const principal: DeclaredPrincipal = { name, kind, roles: pRoles, disabled: bool(p['disabled']), keys: registry.keys(p['keys'], `${at}/keys`) };
    if (p['org'] !== undefined) principal.org = str(p['org']);
    if (p['displayName'] !== undefined) {
      principal.displayName = str(p['displayName']);
      // The admin API's rule, which the schema's pattern only approximates (blank text, code points).
      const problem = displayNameProblem(principal.displayName);
      if (problem !== null) report(`${at}/displayName`, `displayName: ${problem}`);
    }
    const limit = limitOf(p);
    if (limit !== null) principal.limit = limit;
    const quota = readQuota(p['quota']);
    if (quota !== undefined) principal.quota = quota;
    return principal;
  });
}
