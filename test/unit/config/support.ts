import { expect } from 'vitest';
import { loadConfigText } from '../../../src/config/load.ts';
import { formatProblems } from '../../../src/config/format.ts';
import type { ConfigProblem, GatewayConfig } from '../../../src/config/types.ts';

/** The smallest valid file, as lines, for tests to append to. */
export const MINIMAL = [
  'upstreams:',
  '  app: { url: "http://127.0.0.1:3000" }',
  'routes:',
  '  - { name: api, path: "/api/*", upstream: app, action: application:view }',
];

/** Loads text that must be valid; a failure shows the formatted problems. */
export function good(text: string, env: NodeJS.ProcessEnv = {}): GatewayConfig {
  const r = loadConfigText(text, 'test.yaml', env);
  if (!r.ok) expect.fail(`expected a valid config, got:\n${formatProblems(r.problems)}`);
  return r.config;
}

/** Loads text that must be invalid and returns its problems. */
export function bad(text: string, env: NodeJS.ProcessEnv = {}): ConfigProblem[] {
  const r = loadConfigText(text, 'test.yaml', env);
  if (r.ok) expect.fail('expected problems, the config loaded');
  return r.problems;
}

/** `line:column path: message` of each problem: compact enough to compare whole lists. */
export const brief = (problems: ConfigProblem[]): string[] => problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
