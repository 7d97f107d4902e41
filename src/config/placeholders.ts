import { Ajv, type ValidateFunction } from 'ajv';
import type { UnsetReference } from './interpolate.ts';
import { schemasAt, type SchemaNode } from './retype.ts';

/** What `check-config --placeholders` reports for each unset variable. */
export interface UnsetVariable {
  name: string;
  /** JSON pointer of the field that referenced it. */
  path: string;
  line: number;
  /** The stand-in checked in its place (never a secret: made up here). */
  placeholder: string;
}

// The subschemas are fragments of the config schema (with its annotations), compiled one by one.
const ajv = new Ajv({ strict: false, allErrors: false });
const compiled = new WeakMap<object, ValidateFunction>();
const check = (s: SchemaNode, v: unknown): boolean => {
  let f = compiled.get(s);
  if (f === undefined) compiled.set(s, (f = ajv.compile(s)));
  return f(v);
};

function candidates(name: string, schemas: SchemaNode[]): unknown[] {
  const enums = schemas.flatMap((s) => s.enum ?? []);
  const minimums = schemas.flatMap((s) => (s.minimum === undefined ? [] : [s.minimum]));
  const word = `placeholder-${name.toLowerCase().replaceAll('_', '-')}`;
  const url = /REDIS/.test(name) ? ['redis://placeholder.invalid:6379/0', 'http://placeholder.invalid'] : ['http://placeholder.invalid', 'redis://placeholder.invalid:6379/0'];
  const text = [
    // Long enough for any minLength on tokens, peppers and signing secrets.
    `${word}-${'x'.repeat(Math.max(0, 48 - word.length - 1))}`, word,
    ...url, `sha256:${'0'.repeat(64)}`, '30s', '127.0.0.1', 'placeholder',
  ];
  const urlFirst = /URL|URI|ENDPOINT|ADDR/.test(name);
  return [...enums, ...(urlFirst ? [...url, ...text] : text), 8080, ...minimums, 1, 0, false];
}

/**
 * For each reference that was a field's whole value, a stand-in the field's schema accepts
 * (an integer for a port, a URL for an upstream, a long string for a token), found by trying
 * candidates against the subschemas at that path. Lets a deploy config whose `${VAR}`s are only
 * set in production be checked everywhere else. A reference inside a longer string keeps the
 * name-like word interpolate put there.
 */
export function fillPlaceholders(schema: object, unset: UnsetReference[], lineOf: (offset: number) => number): UnsetVariable[] {
  return unset.map((u) => {
    if (u.whole) {
      const leaves = schemasAt(schema as SchemaNode, u.path).filter((s) => s.type !== undefined || s.enum !== undefined);
      const fit = candidates(u.name, leaves).find((c) => leaves.length === 0 || leaves.some((s) => check(s, c)));
      // Interpolation yields strings; retype.ts turns "8080" back into a number where one belongs.
      if (fit !== undefined) u.node.value = typeof fit === 'string' ? fit : String(fit);
    }
    const path = `/${u.path.map((p) => String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;
    return { name: u.name, path, line: lineOf(u.node.range?.[0] ?? 0), placeholder: String(u.node.value) };
  });
}
