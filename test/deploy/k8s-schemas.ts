/**
 * Rendered Kubernetes objects checked against the Kubernetes and prometheus-operator schemas
 * that npm `kubernetes-models` and `@kubernetes-models/prometheus-operator` carry (issue 11):
 *  - values: each model's own validate() (types, enums, required fields, formats);
 *  - unknown fields: the models' validators let them through, so every object is also type-checked
 *    by tsc as an object literal `satisfies` its model interface, where excess-property checks
 *    reject any field the API does not define, at any depth (a misspelt `readinessProbe`,
 *    `securityContext` under the wrong key…).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, tempDir, type JsonObject } from './support.ts';

interface ModelModule {
  file: string;
  iface: string;
}

/** The model file for an apiVersion + kind: core `v1` at the root, groups by name, CRDs in the operator package. */
function modelFor(apiVersion: string, kind: string): ModelModule | undefined {
  const pkg = apiVersion.startsWith('monitoring.coreos.com/') ? '@kubernetes-models/prometheus-operator' : 'kubernetes-models';
  const file = join(ROOT, 'node_modules', pkg, apiVersion, `${kind}.js`);
  return existsSync(file) ? { file, iface: `I${kind}` } : undefined;
}

export interface RenderedObject {
  /** Where it came from, for messages: `gateway-values.yaml: Deployment rel-keygate`. */
  label: string;
  object: JsonObject;
}

/** Every problem found, one line each; empty when all objects are valid. */
export async function k8sSchemaProblems(objects: RenderedObject[]): Promise<string[]> {
  const problems: string[] = [];
  const typed: { label: string; model: ModelModule; object: JsonObject }[] = [];
  for (const { label, object } of objects) {
    const model = modelFor(String(object['apiVersion']), String(object['kind']));
    if (model === undefined) {
      problems.push(`${label}: no schema for ${String(object['apiVersion'])} ${String(object['kind'])}`);
      continue;
    }
    const mod = (await import(pathToFileURL(model.file).href)) as Record<string, new (data: JsonObject) => { validate(): void }>;
    const Model = mod[String(object['kind'])];
    if (Model === undefined) {
      problems.push(`${label}: ${model.file} exports no ${String(object['kind'])}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (e) {
      problems.push(`${label}: ${(e as Error).message.split('\n').slice(0, 5).join(' | ')}`);
    }
    typed.push({ label, model, object });
  }
  problems.push(...unknownFields(typed));
  return problems;
}

function unknownFields(objects: { label: string; model: ModelModule; object: JsonObject }[]): string[] {
  if (objects.length === 0) return [];
  const dir = tempDir('k8s-types');
  const imports = new Map<string, string>();
  const lines: string[] = [];
  objects.forEach(({ label, model, object }, i) => {
    const alias = `M${imports.size}`;
    if (!imports.has(model.file)) imports.set(model.file, alias);
    lines.push(`// ${label}`, `export const o${i} = ${JSON.stringify(object, null, 2)} satisfies ${imports.get(model.file)}.${model.iface};`);
  });
  const header = [...imports].map(([file, alias]) => `import type * as ${alias} from ${JSON.stringify(file)};`);
  writeFileSync(join(dir, 'objects.ts'), [...header, ...lines, ''].join('\n'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', skipLibCheck: true, types: [], allowImportingTsExtensions: true },
    files: ['objects.ts'],
  }));
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status === 0) return [];
  const source = [...header, ...lines].join('\n').split('\n');
  // Each error line is `objects.ts(LINE,COL): error TS…`: name the object it falls in.
  return (r.stdout + r.stderr).split('\n').filter((l) => l.includes('error TS')).map((l) => {
    const line = Number(/\((\d+),\d+\)/.exec(l)?.[1] ?? 0);
    let label = '?';
    for (let i = Math.min(line, source.length) - 1; i >= 0; i--) {
      const m = /^\/\/ (.*)$/.exec(source[i] as string);
      if (m !== null) { label = m[1] as string; break; }
    }
    return `${label}: ${l.replace(/^.*error /, '')}`;
  });
}
