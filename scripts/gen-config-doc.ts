/**
 * Writes docs/configuration.md from config/keygate.schema.json: one section per top-level key,
 * one table row per field (path, type and constraints, default, description). The schema is the
 * single source of truth; test/deploy/config-doc.test.ts fails when the committed file differs
 * from what this script would write.
 *
 *   node scripts/gen-config-doc.ts           rewrite docs/configuration.md
 *   node scripts/gen-config-doc.ts --check   exit 1 if it is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The subset of JSON Schema (draft-07) the config schema uses. */
export interface Schema {
  title?: string;
  description?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  propertyNames?: Schema;
  required?: string[];
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
}

const DURATION = '^[0-9]+(ms|s|m|h|d)$';
const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const SCHEMA_FILE = `${ROOT}config/keygate.schema.json`;
export const DOC_FILE = `${ROOT}docs/configuration.md`;

/** An inline code span; a double-backtick one when the text itself holds a backtick. */
const code = (s: string) => {
  const text = s.replace(/\|/g, '\\|');
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
};
/** One table cell: no line breaks, no unescaped pipes outside code spans. */
const cell = (s: string) => s.replace(/\s*\n\s*/g, ' ').replace(/(?<!\\)\|/g, '\\|');

function typeOf(s: Schema): string {
  if (s.oneOf !== undefined || s.anyOf !== undefined) return (s.oneOf ?? s.anyOf ?? []).map(typeOf).join(' or ');
  if (s.enum !== undefined) return `one of ${s.enum.map((v) => code(JSON.stringify(v))).join(', ')}`;
  if (s.const !== undefined) return code(JSON.stringify(s.const));
  const t = Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any');
  const parts: string[] = [];
  if (t === 'string' && s.pattern === DURATION) parts.push('duration');
  else if (t === 'array') parts.push(listOf(s.items));
  else if (t === 'object' && isMap(s)) parts.push('map');
  else parts.push(t);
  if (s.minimum !== undefined && s.maximum !== undefined) parts.push(`${s.minimum}–${s.maximum}`);
  else if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  else if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  if (s.minLength !== undefined && s.minLength > 0) parts.push(`non-empty`);
  if (s.maxLength !== undefined) parts.push(`at most ${s.maxLength} characters`);
  if (s.minItems !== undefined && s.minItems > 0) parts.push(`at least ${s.minItems}`);
  if (s.uniqueItems === true) parts.push('no duplicates');
  if (s.minProperties !== undefined && s.minProperties > 0) parts.push(`at least ${s.minProperties} entr${s.minProperties === 1 ? 'y' : 'ies'}`);
  if (s.format !== undefined) parts.push(s.format === 'date-time' ? 'ISO 8601 date-time' : s.format);
  if (s.pattern !== undefined && s.pattern !== DURATION) parts.push(`matching ${code(s.pattern)}`);
  return parts.join(', ');
}

/** `list of objects`, `list of strings, each matching …`, `list, each one of …`. */
function listOf(items: Schema | undefined): string {
  if (items === undefined) return 'list';
  if (items.type === 'object') return 'list of objects';
  if (typeof items.type !== 'string') return `list, each ${typeOf(items)}`;
  const [, ...constraints] = typeOf(items).split(', ');
  return `list of ${items.type}s${constraints.length > 0 ? `, each ${constraints.join(', ')}` : ''}`;
}

function isMap(s: Schema): boolean {
  return typeof s.additionalProperties === 'object' && s.properties === undefined;
}

function defaultOf(s: Schema): string {
  if (s.default === undefined) return '';
  if (typeof s.default === 'object' && s.default !== null && Object.keys(s.default).length === 0 && !Array.isArray(s.default)) return '';
  return code(JSON.stringify(s.default));
}

interface Row { path: string; type: string; def: string; description: string }

/** Depth-first rows for a field and everything under it. */
function rows(s: Schema, path: string, required: boolean): Row[] {
  const out: Row[] = [];
  const description = `${required ? '**Required.** ' : ''}${s.description ?? ''}`.trim();
  out.push({ path, type: typeOf(s), def: defaultOf(s), description });
  const req = new Set(s.required ?? []);
  if (s.properties !== undefined) {
    for (const [k, v] of Object.entries(s.properties)) out.push(...rows(v, `${path}.${k}`, req.has(k)));
  }
  if (isMap(s)) {
    const entry = s.additionalProperties as Schema;
    const name = s.propertyNames?.pattern === undefined ? '' : `Names match ${code(s.propertyNames.pattern)}. `;
    out.push(...rows({ ...entry, description: `${name}${entry.description ?? ''}` }, `${path}.<name>`, false));
  }
  if (s.items !== undefined && (s.items.properties !== undefined || isMap(s.items))) {
    const itemReq = new Set(s.items.required ?? []);
    for (const [k, v] of Object.entries(s.items.properties ?? {})) out.push(...rows(v, `${path}[].${k}`, itemReq.has(k)));
  }
  return out;
}

const INTRO = `The config file is YAML, validated strictly against \`config/keygate.schema.json\` when keygate
starts and on every reload: an unknown key is an error, and every problem is reported at once with
its line and column. Check a file without starting anything (from a clone; with the npm package
installed, \`keygate check-config FILE\`):

\`\`\`sh
scripts/keygate check-config config/keygate.yaml
\`\`\`

- **Environment**: \`\${VAR}\` and \`\${VAR:-default}\` in any value are replaced from the
  environment when the file is loaded (on the parsed values, so an environment value can never
  change the structure); \`$\${\` is a literal \`\${\`. An unset variable without a default is an error.
  Scalars are coerced to the field's type, so \`port: "\${PORT:-8080}"\` is a number. Inside a
  flow map (\`{ … }\`) quote the reference: YAML reads a bare \`{\` there as the start of a map, so
  write \`audit: { enabled: "\${AUDIT:-true}" }\`.
- **Durations** are strings with a unit: \`500ms\`, \`30s\`, \`5m\`, \`1h\`, \`90d\`.
- **Defaults** below apply when a key is absent. Only \`upstreams\` and \`routes\` are required.

A minimal file:

\`\`\`yaml
upstreams:
  app:
    url: http://127.0.0.1:3000
roles:
  viewer:
    actions: [application:view]
routes:
  - name: app-read
    path: /api/*
    methods: [GET]
    upstream: app
    action: application:view
\`\`\`
`;

/** The whole Markdown document for a schema. */
export function renderConfigDoc(schema: Schema): string {
  const top = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const lines: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from config/keygate.schema.json by scripts/gen-config-doc.ts; do not edit by hand. -->',
    '',
    schema.description ?? '',
    '',
    INTRO,
    `Sections: ${Object.keys(top).map((k) => `[\`${k}\`](#${k.toLowerCase()})`).join(' · ')}`,
    '',
  ];
  for (const [key, s] of Object.entries(top)) {
    lines.push(`## ${key}`, '', `${required.has(key) ? '**Required.** ' : ''}${s.description ?? ''}`.trim(), '');
    if (s.type !== 'object' || isMap(s)) lines.push(`Type: ${typeOf(s)}.`, '');
    const fields = rows(s, key, false).slice(1);
    if (fields.length === 0) continue;
    lines.push('| key | type | default | description |', '| --- | --- | --- | --- |');
    for (const r of fields) lines.push(`| ${code(r.path)} | ${cell(r.type)} | ${cell(r.def)} | ${cell(r.description)} |`);
    lines.push('');
  }
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

export function readSchema(): Schema {
  return JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Schema;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const doc = renderConfigDoc(readSchema());
  if (process.argv.includes('--check')) {
    const current = readFileSync(DOC_FILE, 'utf8');
    if (current !== doc) {
      process.stderr.write('docs/configuration.md is out of date: run node scripts/gen-config-doc.ts\n');
      process.exitCode = 1;
    }
  } else {
    writeFileSync(DOC_FILE, doc);
    process.stdout.write(`wrote ${DOC_FILE}\n`);
  }
}
