/**
 * Shared by the deployment tests (image, compose, Helm chart, docs): file access from the repo
 * root, Helm's values merge, Markdown fence extraction and `keygate check-config` runs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ROOT, runCli } from '../helpers/cli.ts';

export { ROOT };

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export function read(rel: string): string {
  return readFileSync(join(ROOT, rel), 'utf8');
}

export function readYaml(rel: string): Json {
  return parse(read(rel)) as Json;
}

/** Every document of a multi-document YAML file; throws on the first syntax error. */
export function readYamlDocuments(text: string): Json[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw d.errors[0];
    return d.toJS() as Json;
  });
}

export function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Helm's coalescing of a values file onto the chart defaults: maps merge key by key, anything
 * else (lists included) replaces, and `null` deletes the default.
 */
export function helmMerge(base: Json, over: Json): Json {
  if (!isObject(base) || !isObject(over)) return over;
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = k in base ? helmMerge(base[k] as Json, v) : v;
  }
  return out;
}

/** The chart's values, optionally with a ci/ scenario merged on top as `helm -f` would. */
export function chartValues(scenario?: string): JsonObject {
  const defaults = readYaml('helm/keygate/values.yaml');
  const merged = scenario === undefined ? defaults : helmMerge(defaults, readYaml(`helm/keygate/ci/${scenario}`));
  if (!isObject(merged)) throw new Error('values are not a map');
  return merged;
}

/** `${VAR}` and `${VAR:-default}` references in a config text. */
export function envReferences(text: string): Set<string> {
  return new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g)].map((m) => m[1] as string));
}

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `keygate-${label}-`));
}

/** Writes the text to a temp file and runs the real `keygate check-config` on it. */
export async function checkConfigText(text: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(tempDir('check'), 'keygate.yaml');
  writeFileSync(file, text);
  return runCli(['check-config', file], { env });
}

export interface Fence {
  /** The info string after the backticks: `yaml`, `sh`, `console`, … */
  info: string;
  lang: string;
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** Fenced code blocks of a Markdown text (``` or ~~~, not indented more than 3 spaces). */
export function fences(markdown: string): Fence[] {
  const out: Fence[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*(.*)$/.exec(lines[i] as string);
    if (open === null) continue;
    const marker = open[1] as string;
    const info = (open[2] as string).trim();
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !new RegExp(`^ {0,3}${marker[0]}{${marker.length},}\\s*$`).test(lines[j] as string); j++) body.push(lines[j] as string);
    out.push({ info, lang: info.split(/\s+/)[0] ?? '', body: body.join('\n'), line: i + 1 });
    i = j;
  }
  return out;
}

/** Compose's own interpolation of `${VAR:-default}`, with an empty shell environment. */
function composeValue(v: Json | undefined): string {
  return String(v ?? '').replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::-([^}]*))?\}/g, (_m, def: string | undefined) => def ?? '');
}

/** The environment docker-compose.yml gives the keygate container. */
export function composeEnvironment(): Record<string, string> {
  const compose = readYaml('docker-compose.yml');
  const env = isObject(compose) && isObject(compose['services']) && isObject(compose['services']['keygate']) ? compose['services']['keygate']['environment'] : undefined;
  if (!isObject(env)) throw new Error('docker-compose.yml: services.keygate.environment is not a map');
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, composeValue(v)]));
}
