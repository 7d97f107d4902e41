import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { ConfigProblem, GatewayConfig } from './types.ts';
import { interpolate } from './interpolate.ts';
import { locate, pointerSegments } from './positions.ts';
import { buildConfig } from './build.ts';

export type LoadResult = { ok: true; config: GatewayConfig } | { ok: false; problems: ConfigProblem[] };

const schema = JSON.parse(readFileSync(new URL('../../config/keygate.schema.json', import.meta.url), 'utf8')) as object;

// Defaults come from the schema (one source of truth, also for the generated reference).
// Scalars are coerced so `port: "${PORT:-8080}"` is a number; structure is never coerced.
const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, strict: false });
// ajv-formats is CommonJS; its callable default export arrives under `.default` from ESM.
type AddFormats = (ajv: Ajv, formats: string[]) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? addFormatsModule) as AddFormats;
addFormats(ajv, ['date-time']);
const validate = ajv.compile(schema);

function reason(e: ErrorObject): { message: string; key?: string } {
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const parentSchema = e.parentSchema as { properties?: Record<string, unknown> } | undefined;
      const allowed = Object.keys(parentSchema?.properties ?? {});
      return { message: `unknown field "${key}"${allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ''}`, key };
    }
    case 'required':
      return { message: `missing required field "${(e.params as { missingProperty: string }).missingProperty}"` };
    case 'enum':
      return { message: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}` };
    case 'pattern': {
      const p = (e.params as { pattern: string }).pattern;
      if (p.includes('ms|s|m|h|d')) return { message: 'must be a duration like 500ms, 30s, 5m, 1h or 90d' };
      return { message: `must match ${p}` };
    }
    case 'propertyNames':
      return { message: `invalid name "${(e.params as { propertyName: string }).propertyName}"`, key: (e.params as { propertyName: string }).propertyName };
    default:
      return { message: e.message ?? 'is invalid' };
  }
}

/**
 * Text → validated, typed config. Every problem — YAML syntax, unset variables, schema errors,
 * cross-field errors — is collected and returned together, each with file, line, column, the
 * field path and the reason, so one run of `keygate check-config` shows all of them.
 */
export function loadConfigText(text: string, file: string, env: NodeJS.ProcessEnv): LoadResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const problems: ConfigProblem[] = [];
  const at = (offset: number) => { const p = lc.linePos(offset); return { line: p.line, column: p.col }; };
  for (const e of [...doc.errors, ...doc.warnings]) {
    problems.push({ file, ...at(e.pos[0]), path: '', message: e.message.split('\n')[0] ?? e.message });
  }
  if (doc.errors.length > 0) return { ok: false, problems };
  for (const p of interpolate(doc, env)) problems.push({ file, ...at(p.offset), path: '', message: p.message });

  const data: unknown = doc.toJS() ?? {};
  const schemaOk = validate(data);
  if (!schemaOk) {
    const seen = new Set<string>();
    for (const e of validate.errors ?? []) {
      // oneOf/anyOf report each failed branch too; the branch errors say more than the summary.
      if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if') continue;
      const r = reason(e);
      const segments = pointerSegments(e.instancePath);
      const path = r.key === undefined ? e.instancePath : `${e.instancePath}/${r.key}`;
      const id = `${path}|${r.message}`;
      if (seen.has(id)) continue;
      seen.add(id);
      problems.push({ file, ...locate(doc, lc, segments, r.key), path: path === '' ? '/' : path, message: r.message });
    }
  }
  // Cross-field rules run even after schema errors (all problems at once); with invalid data
  // some of them cannot be checked, and whatever they throw on is already reported above.
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, problems };
  let built: GatewayConfig;
  try {
    built = buildConfig(data as Record<string, unknown>, file, (path, message) => {
    problems.push({ file, ...locate(doc, lc, pointerSegments(path)), path, message });
  }, (path) => locate(doc, lc, pointerSegments(path)).line);
  } catch (e) {
    if (schemaOk) throw e;
    return { ok: false, problems };
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config: built };
}

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadResult> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    return { ok: false, problems: [{ file: abs, line: 0, column: 0, path: '', message: `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }] };
  }
  return loadConfigText(text, abs, env);
}
