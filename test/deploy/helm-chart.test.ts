/**
 * The Helm chart. Without helm: every file exists and parses, the values (defaults and each
 * ci/ scenario merged the way `helm -f` merges) validate against values.schema.json, the route
 * file in them passes the real `keygate check-config` with the environment the templates give
 * the container, every `.Values.…` a template reads exists, and the sidecar snippet agrees with
 * the templates. With helm (on PATH, else fetched by get-helm.sh, tools.ts): `helm lint --strict`
 * and `helm template` for the defaults and every ci/ scenario, every rendered object validated
 * against the Kubernetes and prometheus-operator schemas with unknown fields rejected, and the
 * packaged chart holding what its NOTES and README point at (issue 11).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse, stringify } from 'yaml';
import { createMetrics } from '../../src/metrics/metrics.ts';
import {
  ROOT, chartValues, checkConfigText, envReferences, fences, helmMerge, isObject, read, readYaml, readYamlDocuments,
  tempDir, type Json, type JsonObject,
} from './support.ts';
import { helmBinary } from './tools.ts';
import { k8sSchemaProblems } from './k8s-schemas.ts';

const CHART = 'helm/keygate';
const SCENARIOS = readdirSync(join(ROOT, CHART, 'ci')).filter((f) => f.endsWith('-values.yaml')).sort();
const TEMPLATES = ['deployment', 'service', 'configmap', 'secret', 'serviceaccount', 'servicemonitor', 'prometheusrule', 'pdb', 'hpa', 'networkpolicy'];
const template = (name: string) => read(`${CHART}/templates/${name}`);
const helpers = template('_helpers.tpl');

const schema = JSON.parse(read(`${CHART}/values.schema.json`)) as JsonObject;
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
function schemaErrors(values: Json): string[] {
  return validate(values) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

/** Env names the chart gives the keygate container (the keygate.env helper). */
const chartEnv = new Set([...helpers.matchAll(/- name: (KEYGATE_[A-Z_]+)/g)].map((m) => m[1] as string));

/** What keygate finds in its environment in the pod, for check-config. */
function podEnvironment(values: JsonObject): Record<string, string> {
  const redis = values['redis'] as JsonObject;
  return {
    KEYGATE_CONFIG: '/etc/keygate/keygate.yaml',
    KEYGATE_ADMIN_TOKEN: 'generated-admin-token-0123456789abcdef0123456789ab',
    KEYGATE_TOKEN_SIGNING_KEY: 'generated-signing-key-0123456789abcdef0123456789abcdef0123456789',
    KEYGATE_KEY_PEPPER: 'pepper-from-the-secret',
    ...(redis['url'] !== '' || redis['existingSecret'] !== '' ? { KEYGATE_REDIS_URL: String(redis['url'] || 'redis://redis.example.internal:6379/0') } : {}),
  };
}

/** ms from a keygate duration (`30s`, `5m`, `250ms`) or a number of ms. */
function durationMs(v: Json | undefined, fallback: number): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)(ms|s|m|h)$/.exec(String(v ?? ''));
  if (m === null) return fallback;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

describe('chart files', () => {
  it('has every file of the chart', () => {
    const files = [
      'Chart.yaml', 'values.yaml', 'values.schema.json', '.helmignore', 'README.md', 'files/alerts.yaml',
      'templates/_helpers.tpl', 'templates/NOTES.txt', ...TEMPLATES.map((t) => `templates/${t}.yaml`),
      'ci/gateway-values.yaml', 'ci/sidecar-values.yaml', 'ci/authz-values.yaml', 'examples/sidecar-deployment.yaml',
    ];
    for (const f of files) expect(existsSync(join(ROOT, CHART, f)), f).toBe(true);
    expect(readdirSync(join(ROOT, CHART, 'templates')).sort()).toEqual(['NOTES.txt', '_helpers.tpl', ...TEMPLATES.map((t) => `${t}.yaml`)].sort());
  });

  it('has a Chart.yaml for Helm 3 whose appVersion is the package version', () => {
    const chart = readYaml(`${CHART}/Chart.yaml`) as JsonObject;
    const pkg = JSON.parse(read('package.json')) as { version: string };
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'keygate', type: 'application', appVersion: pkg.version });
    expect(String(chart['version'])).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('parses every non-template YAML file', () => {
    for (const f of ['Chart.yaml', 'values.yaml', 'files/alerts.yaml', 'examples/sidecar-deployment.yaml', ...SCENARIOS.map((s) => `ci/${s}`)]) {
      expect(() => readYamlDocuments(read(`${CHART}/${f}`)), f).not.toThrow();
    }
  });

  it('balances the template actions of every template', () => {
    for (const name of ['_helpers.tpl', 'NOTES.txt', ...TEMPLATES.map((t) => `${t}.yaml`)]) {
      const text = template(name);
      expect(text.split('{{').length, `${name}: {{ vs }}`).toBe(text.split('}}').length);
      const actions = [...text.matchAll(/\{\{-?\s*(if|with|range|define|end)\b/g)].map((m) => m[1]);
      const opened = actions.filter((a) => a !== 'end').length;
      expect(actions.filter((a) => a === 'end').length, `${name}: blocks vs end`).toBe(opened);
    }
  });

  it('reads only values that exist in values.yaml', () => {
    const values = chartValues();
    for (const name of ['_helpers.tpl', 'NOTES.txt', ...TEMPLATES.map((t) => `${t}.yaml`)]) {
      for (const m of template(name).matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
        let node: Json | undefined = values;
        for (const key of (m[1] as string).slice(1).split('.')) node = isObject(node) ? node[key] : undefined;
        expect(node, `${name}: .Values${m[1]}`).not.toBeUndefined();
      }
    }
  });
});

describe('values.schema.json', () => {
  it('accepts the default values and every ci/ scenario', () => {
    expect(schemaErrors(chartValues())).toEqual([]);
    for (const s of SCENARIOS) expect(schemaErrors(chartValues(s)), s).toEqual([]);
  });

  it('describes every property it declares', () => {
    const missing: string[] = [];
    const walk = (node: Json | undefined, path: string) => {
      if (!isObject(node)) return;
      const props = node['properties'];
      if (isObject(props)) {
        for (const [k, v] of Object.entries(props)) {
          if (isObject(v) && typeof v['description'] !== 'string') missing.push(`${path}.${k}`);
          walk(v, `${path}.${k}`);
        }
      }
    };
    walk(schema, '');
    expect(missing).toEqual([]);
  });

  it('refuses typos and impossible combinations', () => {
    const bad: [string, Json][] = [
      ['unknown top-level key', { replicas: 3 }],
      ['unknown config section', { config: { route: [] } }],
      ['non-integer proxy port', { config: { server: { port: '${PORT}' } } }],
      ['unknown mode', { mode: 'daemonset' }],
      ['redis url without scheme', { redis: { url: 'redis.example:6379' } }],
      ['sidecar NetworkPolicy without a pod selector', { mode: 'sidecar', networkPolicy: { enabled: true } }],
      ['HPA in sidecar mode', { mode: 'sidecar', autoscaling: { enabled: true } }],
      ['authz mode without a check section', { mode: 'authz' }],
      ['authz mode with the check listener on loopback', { mode: 'authz', config: { check: { host: '127.0.0.1' } } }],
    ];
    for (const [why, over] of bad) expect(schemaErrors(helmMerge(chartValues(), over)), why).not.toEqual([]);
  });

  it('lists exactly the top-level sections of the keygate config schema under config', () => {
    const keygateSchema = JSON.parse(read('config/keygate.schema.json')) as { properties: JsonObject };
    const config = ((schema['properties'] as JsonObject)['config'] as JsonObject)['properties'] as JsonObject;
    expect(Object.keys(config).sort()).toEqual(Object.keys(keygateSchema.properties).sort());
  });
});

describe('the route file in the values', () => {
  for (const scenario of [undefined, ...SCENARIOS]) {
    it(`passes keygate check-config (${scenario ?? 'default values'})`, async () => {
      const values = chartValues(scenario);
      const config = values['config'] as JsonObject;
      const text = stringify(config);
      for (const name of envReferences(text)) expect([...chartEnv], `${name} is set by the chart`).toContain(name);
      const r = await checkConfigText(text, podEnvironment(values));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
  }

  it('leaves time to drain before the kubelet kills the pod', () => {
    for (const scenario of [undefined, ...SCENARIOS]) {
      const v = chartValues(scenario);
      const drain = durationMs(((v['config'] as JsonObject)['server'] as JsonObject)['drainTimeout'], 30_000);
      expect(Number(v['terminationGracePeriodSeconds']) * 1000, scenario ?? 'defaults').toBeGreaterThan(Number(v['preStopSleepSeconds']) * 1000 + drain);
    }
  });
});

describe('templates', () => {
  it('render the resources the issue lists, each behind its switch', () => {
    const kinds: Record<string, string> = {
      deployment: 'Deployment', service: 'Service', configmap: 'ConfigMap', secret: 'Secret', serviceaccount: 'ServiceAccount',
      servicemonitor: 'ServiceMonitor', prometheusrule: 'PrometheusRule', pdb: 'PodDisruptionBudget', hpa: 'HorizontalPodAutoscaler', networkpolicy: 'NetworkPolicy',
    };
    for (const [file, kind] of Object.entries(kinds)) expect(template(`${file}.yaml`), file).toMatch(new RegExp(`^kind: ${kind}$`, 'm'));
    // gateway and authz (decision mode, issue 13) run keygate's own pods; sidecar renders none.
    expect(template('deployment.yaml')).toMatch(/^\{\{- if ne \.Values\.mode "sidecar" \}\}/m);
    expect(template('hpa.yaml')).toContain('.Values.autoscaling.enabled');
    expect(template('servicemonitor.yaml')).toContain('.Values.metrics.serviceMonitor.enabled');
    expect(template('secret.yaml')).toMatch(/^\{\{- if not \.Values\.secrets\.existingSecret \}\}/);
  });

  it('probe /healthz and /readyz on the admin port and roll the pods when the route file changes', () => {
    const d = template('deployment.yaml');
    expect(d).toContain('startupProbe:\n            httpGet: { path: /healthz, port: admin }');
    expect(d).toContain('livenessProbe:\n            httpGet: { path: /healthz, port: admin }');
    expect(d).toContain('readinessProbe:\n            httpGet: { path: {{ .Values.probes.readinessPath }}, port: admin }');
    expect((chartValues()['probes'] as JsonObject)['readinessPath']).toBe('/readyz');
    expect(d).toContain('{{- include "keygate.checksums" . | nindent 8 }}');
    expect(helpers).toContain('checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}');
    expect(template('configmap.yaml')).toContain('keygate.yaml: |\n    {{- toYaml .Values.config | nindent 4 }}');
  });

  it('keep the container locked down by default', () => {
    const v = chartValues();
    const uid = /^USER (\d+):(\d+)$/m.exec(read('Dockerfile'));
    expect(v['podSecurityContext']).toMatchObject({ runAsNonRoot: true, runAsUser: Number(uid?.[1]), runAsGroup: Number(uid?.[2]), seccompProfile: { type: 'RuntimeDefault' } });
    expect(v['securityContext']).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(template('deployment.yaml')).toContain('automountServiceAccountToken: false');
  });

  it('pass each secret as the env var the config interpolates', () => {
    expect([...chartEnv].sort()).toEqual(['KEYGATE_ADMIN_TOKEN', 'KEYGATE_CONFIG', 'KEYGATE_KEY_PEPPER', 'KEYGATE_REDIS_URL', 'KEYGATE_TOKEN_SIGNING_KEY']);
    for (const key of ['admin-token', 'token-signing-key', 'pepper', 'redis-url']) expect(template('secret.yaml'), key).toContain(`${key}: {{`);
  });
});

describe('sidecar snippet (examples/sidecar-deployment.yaml)', () => {
  const [deployment, service] = readYamlDocuments(read(`${CHART}/examples/sidecar-deployment.yaml`)) as [JsonObject, JsonObject];
  const values = chartValues('sidecar-values.yaml');
  const config = values['config'] as JsonObject;
  const pod = ((deployment['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject;
  const containers = pod['containers'] as JsonObject[];
  const sidecar = containers.find((c) => c['name'] === 'keygate') as JsonObject;
  // Release `orders-keygate` contains the chart name, so the fullname is the release name.
  const fullname = 'orders-keygate';

  it('is what the chart expects in sidecar mode', () => {
    expect(values['mode']).toBe('sidecar');
    expect(helpers).toContain('{{- printf "%s-config" (include "keygate.fullname" .)');
    const env = sidecar['env'] as JsonObject[];
    expect(env.map((e) => e['name']).sort()).toEqual([...chartEnv].sort());
    for (const e of env) {
      const ref = isObject(e['valueFrom']) ? (e['valueFrom']['secretKeyRef'] as JsonObject) : null;
      if (ref !== null) expect(ref['name'], String(e['name'])).toBe(fullname);
    }
    expect(sidecar['args']).toEqual(JSON.parse(/args: (\[.*\])/.exec(template('deployment.yaml'))?.[1] ?? 'null'));
    expect(sidecar['volumeMounts']).toEqual([{ name: 'keygate-config', mountPath: '/etc/keygate', readOnly: true }]);
    expect(pod['volumes']).toEqual([{ name: 'keygate-config', configMap: { name: `${fullname}-config` } }]);
  });

  it('listens where the sidecar values say, in front of an app bound to loopback', () => {
    const ports = Object.fromEntries((sidecar['ports'] as JsonObject[]).map((p) => [p['name'], p['containerPort']]));
    expect(ports).toEqual({ keygate: (config['server'] as JsonObject)['port'], 'keygate-admin': (config['admin'] as JsonObject)['port'] });
    const upstream = new URL(String(((config['upstreams'] as JsonObject)['app'] as JsonObject)['url']));
    expect(upstream.hostname).toBe('127.0.0.1');
    const app = containers.find((c) => c['name'] !== 'keygate') as JsonObject;
    expect((app['env'] as JsonObject[])[0]).toEqual({ name: 'LISTEN_ADDR', value: upstream.host });
    const svcPorts = (service['spec'] as JsonObject)['ports'] as JsonObject[];
    expect(svcPorts[0]?.['targetPort']).toBe('keygate');
    expect(((values['sidecar'] as JsonObject)['podSelector'])).toEqual((((deployment['spec'] as JsonObject)['template'] as JsonObject)['metadata'] as JsonObject)['labels']);
  });

  it('keeps the chart\'s security context, probes and drain budget', () => {
    expect(sidecar['securityContext']).toMatchObject(values['securityContext'] as JsonObject);
    expect(sidecar['securityContext']).toMatchObject({ runAsUser: 1000, runAsGroup: 1000 });
    expect(sidecar['livenessProbe']).toMatchObject({ httpGet: { path: '/healthz' } });
    expect(sidecar['readinessProbe']).toMatchObject({ httpGet: { path: '/readyz' } });
    const drain = durationMs((config['server'] as JsonObject)['drainTimeout'], 30_000);
    expect(Number(pod['terminationGracePeriodSeconds']) * 1000).toBeGreaterThan(drain + 5_000);
  });
});

describe('alerts (files/alerts.yaml)', () => {
  const rules = readYaml(`${CHART}/files/alerts.yaml`) as JsonObject[];

  it('are well-formed Prometheus rules on metrics keygate exports', () => {
    const registry = createMetrics().registry;
    const exported = new Set(registry.getMetricsAsArray().map((m) => m.name));
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule, String(rule['alert'])).toMatchObject({ alert: expect.stringMatching(/^Keygate[A-Z][A-Za-z0-9]+$/), expr: expect.any(String), labels: { severity: expect.stringMatching(/^(critical|warning)$/) } });
      for (const m of String(rule['expr']).matchAll(/\bkeygate_[a-z_]+/g)) {
        const name = m[0].replace(/_(bucket|sum|count)$/, '');
        expect(exported.has(name) || exported.has(m[0]), `${String(rule['alert'])}: ${m[0]}`).toBe(true);
      }
    }
  });

  it('are the ones docs/operations.md explains', () => {
    const docBlock = fences(read('docs/operations.md')).find((f) => f.lang === 'yaml' && f.body.includes('- alert: KeygateKeyStoreDown'));
    expect(docBlock, 'an alerts block in docs/operations.md').toBeDefined();
    expect(parse(docBlock?.body ?? '')).toEqual(rules);
  });

  it('are the rules of deploy/observability/alerts.yaml, which promtool tests', () => {
    const group = (parse(read('deploy/observability/alerts.yaml')) as { groups: { name: string; rules: JsonObject[] }[] }).groups.find((g) => g.name === 'keygate');
    expect(rules).toEqual(group?.rules);
  });
});

const helm = helmBinary();
if (!helm.ok) console.warn(`helm-chart.test.ts: helm lint/template skipped: ${helm.reason}`);
const HELM = helm.ok ? helm.value : 'helm';
// No cluster: helm must not fall back to localhost:8080 or read a stray kubeconfig.
const helmEnv = (): NodeJS.ProcessEnv => {
  const kubeconfig = join(tempDir('helm-home'), 'kubeconfig');
  writeFileSync(kubeconfig, '');
  return { ...process.env, KUBECONFIG: kubeconfig };
};

function render(scenario: string): JsonObject[] {
  const args = ['template', 'rel', join(ROOT, CHART), ...(scenario === 'default' ? [] : ['-f', join(ROOT, CHART, 'ci', scenario)])];
  return readYamlDocuments(execFileSync(HELM, args, { encoding: 'utf8', env: helmEnv() })).filter(isObject);
}

describe.skipIf(!helm.ok)(helm.ok ? `helm lint and helm template (${helm.value})` : `helm lint and helm template (skipped: ${helm.reason})`, () => {
  it('lints --strict with the default values and every scenario', () => {
    const env = helmEnv();
    execFileSync(HELM, ['lint', '--strict', join(ROOT, CHART)], { stdio: 'pipe', env });
    for (const s of SCENARIOS) execFileSync(HELM, ['lint', '--strict', join(ROOT, CHART), '-f', join(ROOT, CHART, 'ci', s)], { stdio: 'pipe', env });
  });

  it('renders each scenario into the expected resources, whose route file passes check-config', async () => {
    const expected: Record<string, string[]> = {
      default: ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Service', 'ServiceAccount'],
      'gateway-values.yaml': ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'PodDisruptionBudget', 'PrometheusRule', 'Service', 'ServiceAccount', 'ServiceMonitor'],
      'sidecar-values.yaml': ['ConfigMap', 'NetworkPolicy', 'Secret'],
      'authz-values.yaml': ['ConfigMap', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount'],
    };
    for (const s of ['default', ...SCENARIOS]) {
      const docs = render(s);
      expect(docs.map((d) => String(d['kind'])).sort(), s).toEqual(expected[s]);
      const cm = docs.find((d) => d['kind'] === 'ConfigMap') as JsonObject;
      const r = await checkConfigText(String((cm['data'] as JsonObject)['keygate.yaml']), podEnvironment(chartValues(s === 'default' ? undefined : s)));
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it('renders only objects valid against the Kubernetes and prometheus-operator schemas, unknown fields rejected', async () => {
    const objects = ['default', ...SCENARIOS].flatMap((s) => render(s).map((object) => ({ label: `${s}: ${String(object['kind'])} ${String((object['metadata'] as JsonObject)['name'])}`, object })));
    expect(objects.length).toBeGreaterThan(10);
    expect(await k8sSchemaProblems(objects)).toEqual([]);
  }, 120_000);

  it('the schema check itself rejects an unknown field and a wrong type', async () => {
    const deployment = render('default').find((d) => d['kind'] === 'Deployment') as JsonObject;
    const bad = structuredClone(deployment);
    const pod = ((bad['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject;
    (pod['containers'] as JsonObject[])[0] = { ...(pod['containers'] as JsonObject[])[0], readinesProbe: {} };
    const wrongType = structuredClone(deployment);
    (wrongType['spec'] as JsonObject)['replicas'] = 'two';
    const problems = await k8sSchemaProblems([{ label: 'typo', object: bad }, { label: 'type', object: wrongType }]);
    expect(problems.some((p) => p.startsWith('typo:') && p.includes('readinesProbe'))).toBe(true);
    expect(problems.some((p) => p.startsWith('type:'))).toBe(true);
  }, 120_000);

  it('packages every file its NOTES and README point at', () => {
    const out = tempDir('helm-package');
    execFileSync(HELM, ['package', join(ROOT, CHART), '--destination', out], { stdio: 'pipe', env: helmEnv() });
    const tgz = readdirSync(out).find((f) => f.endsWith('.tgz')) as string;
    const packaged = new Set(execFileSync('tar', ['-tzf', join(out, tgz)], { encoding: 'utf8' }).split('\n').map((f) => f.replace(/^keygate\//, '')));
    for (const doc of ['templates/NOTES.txt', 'README.md']) {
      expect(packaged.has(doc), doc).toBe(true);
      // Chart-relative paths (examples/…, ci/…, files/…, templates/…, or spelled from the repo
      // as helm/keygate/…). keygate's own docs/ are named as the source repository's, on purpose.
      for (const m of read(`${CHART}/${doc}`).matchAll(/(?<![\w/.-])(?:helm\/keygate\/)?((?:examples|ci|files|templates)\/[\w.*-]+)/g)) {
        const path = m[1] as string;
        if (path.includes('*')) expect([...packaged].some((f) => new RegExp(`^${path.replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}$`).test(f)), `${doc}: ${path}`).toBe(true);
        else expect(packaged.has(path), `${doc} points at ${path}`).toBe(true);
      }
    }
  });
});
