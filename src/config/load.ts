import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import { Ajv } from 'ajv';
import type { ConfigProblem, GatewayConfig } from './types.ts';
import { interpolate } from './interpolate.ts';
import { retypeInterpolated } from './retype.ts';
import { fillPlaceholders, type UnsetVariable } from './placeholders.ts';
import { schemaProblems } from './schema-messages.ts';
import { duplicateKeyAt, locate, pointerSegments, positionOf, toPointer } from './positions.ts';
import { buildConfig } from './build.ts';

/** `unset`: only under `placeholders`, the variables that got a stand-in (see placeholders.ts). */
export type LoadResult = { ok: true; config: GatewayConfig; unset?: UnsetVariable[] } | { ok: false; problems: ConfigProblem[]; unset?: UnsetVariable[] };

/** Options of {@link loadConfigText}. */
export interface LoadOptions {
  /**
   * Give unset `${VAR}`s (without a default) a stand-in that fits their field and list them,
   * instead of a problem each: `keygate check-config --placeholders`. Never for `serve`.
   * @default false
   */
  placeholders?: boolean;
}

/** The config's JSON Schema: validation, defaults and the generated reference all come from it. */
export const CONFIG_SCHEMA = JSON.parse(readFileSync(new URL('../../config/keygate.schema.json', import.meta.url), 'utf8')) as object;

// strict: a mistake in the schema itself fails at startup. No coerceTypes: see retype.ts.
// verbose: errors carry the offending value and the schema around it, for the messages.
const validate = new Ajv({ allErrors: true, useDefaults: true, strict: true, verbose: true }).compile(CONFIG_SCHEMA);

/**
 * YAML errors after which the tree is still the one the user wrote, so validation can go on and
 * report the rest too. After real syntax errors the tree is a guess, and schema errors about it
 * would mislead.
 */
const RECOVERABLE = new Set(['DUPLICATE_KEY']);

function yamlProblem(doc: Document, lc: LineCounter, file: string, e: YAMLError): ConfigProblem {
  const dup = e.code === 'DUPLICATE_KEY' ? duplicateKeyAt(doc, e.pos[0]) : null;
  if (dup !== null) {
    const first = positionOf(lc, dup.firstOffset);
    return { file, ...positionOf(lc, e.pos[0]), path: toPointer(dup.path), message: `duplicate key "${dup.key}" (first at line ${first.line}); YAML would silently keep only the last one` };
  }
  return { file, ...positionOf(lc, e.pos[0]), path: '', message: e.message.split('\n')[0] ?? e.message };
}

/**
 * Text → validated, typed config. Every problem — YAML syntax, duplicate keys, unset variables,
 * schema errors, cross-field errors — is collected and returned together, sorted by position,
 * each with file, line, column, the field path and the reason, so one run of
 * `keygate check-config` shows all of them.
 */
export function loadConfigText(text: string, file: string, env: NodeJS.ProcessEnv, opts: LoadOptions = {}): LoadResult {
  // The unset variables are collected aside, so no early return below has to carry them.
  const found: { unset: UnsetVariable[] } = { unset: [] };
  const result = loadText(text, file, env, opts, found);
  return opts.placeholders === true ? { ...result, unset: found.unset } : result;
}

function loadText(text: string, file: string, env: NodeJS.ProcessEnv, opts: LoadOptions, found: { unset: UnsetVariable[] }): LoadResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const problems: ConfigProblem[] = [...doc.errors, ...doc.warnings].map((e) => yamlProblem(doc, lc, file, e));
  if (doc.errors.some((e) => !RECOVERABLE.has(e.code))) return fail(capSyntaxErrors(problems));

  // One problem per field, the first found: a field whose variable is unset holds "" rather
  // than a value, so only that is reported there. Cross-field checks repeat nothing already
  // said: not at a path reported before, and not below a value of the wrong type (a string
  // where the list of routes belongs).
  const reported = new Set<string>();
  const wrongType: string[] = [];
  const refs = interpolate(doc, env, opts);
  found.unset = fillPlaceholders(CONFIG_SCHEMA, refs.unset, (offset) => positionOf(lc, offset).line);
  for (const p of refs.problems) {
    const path = toPointer(p.path);
    problems.push({ file, ...positionOf(lc, p.node.range?.[0] ?? 0), path, message: p.message });
    reported.add(path);
  }
  retypeInterpolated(CONFIG_SCHEMA, refs.interpolated);

  let data: unknown;
  try {
    data = doc.toJS() ?? {};
  } catch (e) {
    // yaml refuses alias bombs ("billion laughs") here rather than at parse time.
    problems.push({ file, line: 1, column: 1, path: '', message: (e as Error).message });
    return fail(problems);
  }
  const at = (pointer: string, key?: string) => locate(doc, lc, pointerSegments(pointer), key);
  if (!validate(data)) {
    for (const p of schemaProblems(validate.errors ?? [])) {
      if (reported.has(p.path)) continue;
      problems.push({ file, ...at(p.parent, p.key), path: p.path === '' ? '/' : p.path, message: p.message });
      reported.add(p.path);
      if (p.wrongType) wrongType.push(p.path);
    }
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail(problems);

  // Closures the config keeps (a matcher built next to a `report` call, say) hold their
  // builder's scope, and through `report` this one: the YAML tree, its plain copy and the text
  // (≈10 MiB with 10k declared keys, for the life of the config; issue 12). So buildConfig gets
  // callbacks that are cut loose from this scope once it has returned.
  const report = detachable((path: string, message: string): void => {
    if (reported.has(path) || wrongType.some((w) => path === w || path.startsWith(`${w}/`))) return;
    problems.push({ file, ...at(path), path, message });
  }, undefined);
  const lineOf = detachable((path: string): number => at(path).line, 0);
  const config = buildConfig(data as Record<string, unknown>, file, report.fn, lineOf.fn);
  report.cut();
  lineOf.cut();
  return problems.length > 0 ? fail(problems) : { ok: true, config };
}

/** `fn` calls `f` until `cut()`, then answers `after`; it holds nothing of `f`'s scope after the cut. */
function detachable<A extends unknown[], R>(f: (...a: A) => R, after: R): { fn: (...a: A) => R; cut(): void } {
  let live: ((...a: A) => R) | null = f;
  return { fn: (...a: A): R => (live === null ? after : live(...a)), cut: () => (live = null) };
}

/**
 * One real syntax error (say `${VAR}` unquoted inside `{ }`) makes the parser flag every token
 * after it: in a file of 10k declared keys, 100k "problems" that are all the same one. The first
 * few are shown, then how many more there were.
 */
const MAX_SYNTAX_PROBLEMS = 10;

function capSyntaxErrors(problems: ConfigProblem[]): ConfigProblem[] {
  if (problems.length <= MAX_SYNTAX_PROBLEMS) return problems;
  const shown = [...problems].sort((a, b) => a.line - b.line || a.column - b.column).slice(0, MAX_SYNTAX_PROBLEMS);
  const last = shown[shown.length - 1] as ConfigProblem;
  return [...shown, { ...last, path: '', message: `… and ${problems.length - MAX_SYNTAX_PROBLEMS} more syntax errors after these, most likely caused by the first one` }];
}

function fail(problems: ConfigProblem[]): LoadResult {
  // Stable sort: problems at one spot keep the order they were found in.
  return { ok: false, problems: problems.sort((a, b) => a.line - b.line || a.column - b.column) };
}

/** {@link loadConfigText} on a file; an unreadable file is a problem at line 0, not a throw. */
export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env, opts: LoadOptions = {}): Promise<LoadResult> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    return { ok: false, problems: [unreadable(abs, e)] };
  }
  return loadConfigText(text, abs, env, opts);
}

/** The problem for a file that cannot be read (missing, a directory, no permission). */
export function unreadable(file: string, e: unknown): ConfigProblem {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.code === 'EACCES' ? 'permission denied' : (err.code ?? err.message);
  return { file, line: 0, column: 0, path: '', message: `cannot read the config file: ${why}` };
}
