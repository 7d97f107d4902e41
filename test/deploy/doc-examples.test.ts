/**
 * The examples in README.md, docs/*.md and the chart's README cannot rot:
 * - YAML blocks that are keygate config (any top-level key of the config schema) load with the
 *   real loader — fragments merged onto a minimal base; blocks starting `# values.yaml` validate
 *   against the chart's values.schema.json; Kubernetes manifests and the rest must parse;
 *   `# not-a-config` opts a block out of everything but parsing.
 * - JSON blocks parse.
 * - Every curl command parses; those aimed at 127.0.0.1/localhost must target the proxy (8080)
 *   on a route some documented config declares, or the admin listener (9090) on an endpoint of
 *   the admin API with a body its schema accepts.
 * - Every ```sh/bash/shell/console block is executed (issue 11: "every shell example runs in CI
 *   against a live gateway"): one bash session per document, under `set -euo pipefail`, blocks in
 *   document order so an `export` in one is seen by the next, in a scratch copy of the clone.
 *   The session runs against what the doc names with `<!-- run-against: … -->` — a config file
 *   of the repo, the doc's own ```yaml block, or nothing (the README's quick start starts its own
 *   echo upstream and gateway) — else the embedded default config/keygate.yaml; with
 *   scripts/echo-upstream.ts as the upstream and redis-server when the config names Redis.
 *   Ports 8080/9090/3000/6379 are rewritten in the text to free ones and passed in the
 *   environment (KEYGATE_PORT, KEYGATE_ADMIN_PORT, KEYGATE_ADMIN_URL, UPSTREAM_URL, ECHO_PORT);
 *   test/deploy/doc-live.ts says which and how. Every process started is stopped by its pid
 *   (bash's whole process group, for what a block left running with `&`).
 * - `<!-- no-run: reason -->` right above a fence skips it, the reason in the skipped test's
 *   name; a no-run without a reason, or in the old info-string form, fails the markers test.
 * - Output: a ```console fence's `$ ` lines run and its other lines are the output, checked
 *   loosely (each shown line ends an output line, in order; `…` matches anything); a ```text
 *   fence right after a shell fence (or after one paragraph ending in `:`) is checked the same
 *   way. test/deploy/doc-shell.ts has the rules; "the session runner itself" (doc-shell.test.ts) proves
 *   that a failing block, a missing export, a wrong shown output or a reason-less no-run each fail.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { loadConfigText } from '../../src/config/load.ts';
import { formatProblems } from '../../src/config/format.ts';
import { compileRoutes } from '../../src/routing/match.ts';
import { adminRoutes } from '../../src/admin/v1/routes.ts';
import { auditRoutes, type AuditRouteDeps } from '../../src/admin/v1/audit-routes.ts';
import { schemas } from '../../src/admin/v1/schemas.ts';
import type { Lifecycle } from '../../src/lifecycle/service.ts';
import { docShell, runSession, unmatchedOutput, type BlockResult, type DocShell, type ShellBlock } from './doc-shell.ts';
import { DEV_VERBS, startLive } from './doc-live.ts';
import {
  ROOT, chartValues, composeEnvironment, envReferences, fences, helmMerge, isObject, read, readYamlDocuments,
  type Fence, type Json, type JsonObject,
} from './support.ts';

const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`),
  'helm/keygate/README.md',
].filter((f) => existsSync(join(ROOT, f)));

const CONFIG_KEYS = new Set(Object.keys((JSON.parse(read('config/keygate.schema.json')) as { properties: JsonObject }).properties));
const SHELL = new Set(['sh', 'bash', 'shell', 'console']);

/** Where each fence comes from, for failure messages. */
const all: { file: string; fence: Fence }[] = DOCS.flatMap((file) => fences(read(file)).map((fence) => ({ file, fence })));
const where = (x: { file: string; fence: Fence }) => `${x.file}:${x.fence.line}`;

/** The base a config fragment is merged onto: it supplies what the fragment leaves out. */
const BASE: JsonObject = {
  upstreams: { app: { url: 'http://127.0.0.1:3000' } },
  roles: { viewer: { actions: ['application:view'] }, editor: { actions: ['application:view', 'application:edit'] }, operator: { actions: ['keygate:admin'] } },
  routes: [{ name: 'app', path: '/api/*', upstream: 'app', action: 'application:view' }],
};

/** Plausible values for the variables documentation configs reference. */
function docEnvironment(text: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of envReferences(text)) {
    if (/REDIS/.test(name)) env[name] = 'redis://127.0.0.1:6379/0';
    else if (/URL/.test(name)) env[name] = 'http://127.0.0.1:3000';
    else if (/PORT/.test(name)) env[name] = '8080';
    else env[name] = 'documentation-example-value-0123456789abcdef';
  }
  return env;
}

type Kind = 'config' | 'values' | 'manifest' | 'alerts' | 'yaml';

function classify(body: string): { kind: Kind; data: Json } {
  const first = body.split('\n')[0]?.trim() ?? '';
  if (first === '# not-a-config') return { kind: 'yaml', data: readYamlDocuments(body)[0] ?? null };
  const docs = readYamlDocuments(body);
  const data = docs[0] ?? null;
  if (first === '# values.yaml') return { kind: 'values', data };
  if (Array.isArray(data) && data.every((r) => isObject(r) && 'alert' in r)) return { kind: 'alerts', data };
  if (isObject(data) && 'apiVersion' in data && 'kind' in data) return { kind: 'manifest', data };
  if (docs.length === 1 && isObject(data) && Object.keys(data).some((k) => CONFIG_KEYS.has(k))) return { kind: 'config', data };
  return { kind: 'yaml', data };
}

const yamlBlocks = all.filter((x) => x.fence.lang === 'yaml' || x.fence.lang === 'yml');

/** Config blocks as keygate would load them: whole, or a fragment merged onto BASE. */
function configBlocks(): { at: string; text: string; env: NodeJS.ProcessEnv }[] {
  const out: { at: string; text: string; env: NodeJS.ProcessEnv }[] = [];
  for (const b of yamlBlocks) {
    let c: { kind: Kind; data: Json };
    try { c = classify(b.fence.body); } catch { continue; } // reported by 'all parse'
    if (c.kind !== 'config' || !isObject(c.data)) continue;
    const complete = 'upstreams' in c.data && 'routes' in c.data;
    out.push({ at: where(b), text: complete ? b.fence.body : JSON.stringify({ ...BASE, ...c.data }, null, 2), env: docEnvironment(b.fence.body) });
  }
  return out;
}

describe('YAML blocks in the docs', () => {
  it('all parse', () => {
    for (const b of yamlBlocks) expect(() => classify(b.fence.body), where(b)).not.toThrow();
  });

  it('that are keygate config load with the real loader', () => {
    const blocks = configBlocks();
    for (const b of blocks) {
      const r = loadConfigText(b.text, b.at, b.env);
      expect(r.ok ? '' : formatProblems(r.problems), b.at).toBe('');
    }
    expect(blocks.length, 'config blocks found in the docs').toBeGreaterThanOrEqual(5);
  });

  it('that are Helm values (`# values.yaml`) pass the chart\'s values.schema.json', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(read('helm/keygate/values.schema.json')) as object);
    let n = 0;
    for (const b of yamlBlocks) {
      const { kind, data } = classify(b.fence.body);
      if (kind !== 'values') continue;
      n++;
      const merged = helmMerge(chartValues(), data);
      expect(validate(merged) ? [] : validate.errors, where(b)).toEqual([]);
      const config = (merged as JsonObject)['config'] as JsonObject;
      const r = loadConfigText(JSON.stringify(config), where(b), docEnvironment(JSON.stringify(config)));
      expect(r.ok ? '' : formatProblems(r.problems), `${where(b)}: its config`).toBe('');
    }
    expect(n).toBeGreaterThanOrEqual(2);
  });

  it('that are Kubernetes manifests have every document parse', () => {
    for (const b of yamlBlocks) if (classify(b.fence.body).kind === 'manifest') expect(readYamlDocuments(b.fence.body).length, where(b)).toBeGreaterThan(0);
  });
});

describe('JSON blocks in the docs', () => {
  it('parse', () => {
    for (const b of all.filter((x) => x.fence.lang === 'json')) expect(() => JSON.parse(b.fence.body), where(b)).not.toThrow();
  });
});

/** Shell words up to the end of a simple command (`|`, `;`, `&`, `)` or a comment). */
function shellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let i = 0;
  const push = () => { if (word !== null) words.push(word); word = null; };
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${text}`);
      word = (word ?? '') + text.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let s = '';
      for (; j < text.length && text[j] !== '"'; j++) s += text[j] === '\\' ? (text[++j] ?? '') : text[j];
      if (j >= text.length) throw new Error(`unterminated " in: ${text}`);
      word = (word ?? '') + s;
      i = j + 1;
    } else if (c === '\\') {
      word = (word ?? '') + (text[i + 1] ?? '');
      i += 2;
    } else if (/\s/.test(c)) {
      push();
      i++;
    } else if ('|;&)'.includes(c) || (c === '#' && word === null)) {
      break;
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  push();
  return words;
}

interface Curl { at: string; method: string; url: URL; headers: string[]; body: string | null }

const WITH_VALUE = new Set(['-X', '--request', '-H', '--header', '-d', '--data', '--data-raw', '--data-binary', '-o', '--output', '-w', '--write-out', '-u', '--user', '-m', '--max-time', '--connect-timeout', '-A', '-e', '--url']);

function parseCurl(words: string[], at: string): Curl {
  let method: string | null = null;
  let url: string | null = null;
  let body: string | null = null;
  const headers: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const w = words[i] as string;
    if (WITH_VALUE.has(w)) {
      const v = words[++i];
      if (v === undefined) throw new Error(`${at}: ${w} without a value`);
      if (w === '-X' || w === '--request') method = v;
      else if (w === '-H' || w === '--header') headers.push(v);
      else if (w.startsWith('-d') || w.startsWith('--data')) body = v;
      else if (w === '--url') url = v;
    } else if (/^-[A-Za-z]+$/.test(w) || w.startsWith('--')) {
      // flags without a value: -fsS, -i, --fail, …
    } else if (url === null) {
      url = w;
    } else {
      throw new Error(`${at}: unexpected argument ${w}`);
    }
  }
  if (url === null) throw new Error(`${at}: curl without a URL`);
  // $VAR and ${VAR} stand for values the reader has; a placeholder keeps the URL parseable.
  const concrete = url.replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, 'x');
  return { at, method: method ?? (body === null ? 'GET' : 'POST'), url: new URL(concrete), headers, body };
}

/** Every curl invocation in the shell blocks, `$(curl …)` included. */
function curls(): Curl[] {
  const out: Curl[] = [];
  for (const b of all.filter((x) => SHELL.has(x.fence.lang))) {
    const lines = b.fence.body.replace(/\\\n/g, ' ').split('\n').map((l) => (b.fence.lang === 'console' ? l.replace(/^\$ /, '') : l));
    lines.forEach((line, n) => {
      for (const m of line.matchAll(/(?:^|[\s(|;&])curl\s/g)) {
        const start = (m.index ?? 0) + m[0].indexOf('curl');
        const at = `${where(b)}+${n + 1}`;
        out.push(parseCurl(shellWords(line.slice(start)), at));
      }
    });
  }
  return out;
}

describe('curl commands in the docs', () => {
  const found = curls();
  const local = found.filter((c) => c.url.hostname === '127.0.0.1' || c.url.hostname === 'localhost');

  it('parse, and enough of them are checked', () => {
    expect(found.length).toBeGreaterThanOrEqual(6);
    expect(local.length).toBeGreaterThanOrEqual(6);
  });

  it('aim at the proxy or the admin listener', () => {
    for (const c of local) expect(['8080', '9090'], `${c.at}: ${c.url.href}`).toContain(c.url.port);
  });

  it('call admin endpoints that exist, with bodies their schema accepts', () => {
    const routes = [...adminRoutes({} as Lifecycle), ...auditRoutes({} as AuditRouteDeps)];
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const open = new Set(['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /v1/openapi.json']);
    for (const c of local.filter((x) => x.url.port === '9090')) {
      const path = c.url.pathname;
      if (open.has(`${c.method} ${path}`)) continue;
      const route = routes.find((r) => r.method === c.method && new RegExp(`^${r.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));
      expect(route, `${c.at}: ${c.method} ${path}`).toBeDefined();
      expect(c.headers.some((h) => /^authorization: bearer /i.test(h)), `${c.at}: sends the admin credential`).toBe(true);
      if (route?.body !== undefined && c.body !== null) {
        const validate = ajv.compile(schemas[route.body]);
        const body = JSON.parse(c.body) as unknown;
        expect(validate(body) ? [] : validate.errors, `${c.at}: body of ${c.method} ${route.path}`).toEqual([]);
        expect(c.headers.some((h) => /^content-type: application\/json/i.test(h)), `${c.at}: sends JSON`).toBe(true);
      }
    }
  });

  it('call proxy paths a documented config routes', () => {
    const known: { at: string; text: string; env: NodeJS.ProcessEnv }[] = [
      { at: 'deploy/compose/keygate.yaml', text: read('deploy/compose/keygate.yaml'), env: composeEnvironment() },
      { at: 'helm/keygate/values.yaml', text: JSON.stringify(chartValues()['config']), env: docEnvironment(JSON.stringify(chartValues()['config'])) },
      ...(existsSync(join(ROOT, 'config/keygate.yaml')) ? [{ at: 'config/keygate.yaml', text: read('config/keygate.yaml'), env: docEnvironment(read('config/keygate.yaml')) }] : []),
      ...configBlocks(),
    ];
    const configs = known.flatMap((k) => {
      const r = loadConfigText(k.text, k.at, k.env);
      return r.ok ? [r.config] : [];
    });
    const routers = configs.map((c) => compileRoutes(c.routes, c.upstreams, { caseSensitive: c.server.caseSensitivePaths }));
    // The token exchange is served on the proxy listener too, outside the routes.
    const exchanges = new Set(configs.filter((c) => c.tokens.enabled).map((c) => `POST ${c.tokens.path}`));
    for (const c of local.filter((x) => x.url.port === '8080')) {
      const hit = exchanges.has(`${c.method} ${c.url.pathname}`) || routers.some((r) => r.match(c.method, c.url.host, c.url.pathname) !== null);
      expect(hit, `${c.at}: ${c.method} ${c.url.pathname} matches no documented route`).toBe(true);
    }
  });
});

const missingTools = ['bash', 'curl', 'jq', 'redis-server', 'base64'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
const canRun = missingTools.length === 0;
/** Said in the title when the sessions cannot run here (scripts/dev test installs these). */
const unrunnable = canRun ? '' : ` (skipped: ${missingTools.join(', ')} not installed)`;

/**
 * A document's shell blocks as one bash session against what `startLive` starts for it. The
 * budgets are a safety net, not a speed check: about 5 s a document on an idle two-core machine,
 * several times that when eight engineers share it.
 */
async function runDoc(file: string, blocks: ShellBlock[], against: DocShell['runAgainst']): Promise<{ results: BlockResult[]; live: string }> {
  const live = await startLive(against);
  try {
    const results = await runSession(blocks.map((b) => ({ at: b.at, script: live.rewrite(b.script) })), { cwd: live.cwd, env: live.env, timeoutMs: 90_000 });
    return { results, live: `${file} against ${live.describe}` };
  } finally {
    await live.stop();
  }
}

describe('shell blocks: the markers', () => {
  it('are well-formed in every doc (a no-run names its reason)', () => {
    expect(DOCS.flatMap((f) => docShell(f, read(f)).problems)).toEqual([]);
  });

  it('name config files that exist (run-against: PATH)', () => {
    for (const f of DOCS) {
      const against = docShell(f, read(f)).runAgainst;
      if (against.kind === 'file') expect(existsSync(join(ROOT, against.path)), `${f}: run-against ${against.path}`).toBe(true);
    }
  });

  it('scripts/dev runs what the doc sessions\' stand-in runs for start and echo', () => {
    const dev = read('scripts/dev');
    expect(dev).toContain(`start) ${DEV_VERBS.start} ;;`);
    expect(dev).toContain(`echo) ${DEV_VERBS.echo} ;;`);
  });
});

for (const file of DOCS) {
  const doc = docShell(file, read(file));
  if (doc.blocks.length === 0) continue;
  const runnable = doc.blocks.filter((b) => b.noRun === null);
  describe.skipIf(!canRun || runnable.length === 0)(`shell blocks of ${file}, run in one bash session${unrunnable}`, () => {
    let results: BlockResult[] = [];
    let live = '';
    beforeAll(async () => {
      ({ results, live } = await runDoc(file, runnable, doc.runAgainst));
    }, 120_000);

    for (const block of doc.blocks) {
      if (block.noRun !== null) {
        it.skip(`${block.at} not run: ${block.noRun}`, () => {});
        continue;
      }
      const n = runnable.indexOf(block);
      it(`${block.at} runs${block.expected ? ' and prints what the doc shows' : ''}`, () => {
        const r = results[n];
        expect(r?.status, `${live}\n${block.at}: ${r?.status === 'not-reached' ? `not reached: ${r.because} failed first` : r?.status === 'failed' ? `exit ${r.code}, output:\n${r.output}` : ''}`).toBe('ok');
        if (r?.status === 'ok' && block.expected !== null) {
          const missing = unmatchedOutput(block.expected, r.output);
          expect(missing, `${block.at}: the doc shows "${missing}", which the output lacks (in order):\n${r.output}`).toBeNull();
        }
      });
    }
  });
}

describe('coverage', () => {
  it('reads the README, every doc and the chart README', () => {
    for (const f of ['README.md', 'docs/operations.md', 'docs/security.md', 'docs/configuration.md', 'helm/keygate/README.md']) expect(DOCS).toContain(f);
  });
});
