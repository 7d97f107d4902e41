/**
 * Real tools for the deployment tests, had however this machine allows: a container engine and
 * helm. Where they are installed (a CI runner with a daemon and helm on PATH) they are used as
 * they are; otherwise the workplace scripts (container-engine.sh, get-helm.sh, issue 11) provide
 * them. When neither works the answer carries the reason, for a visible skip.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './support.ts';

export type Tool<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A workplace script: $KEYGATE_TOOLS_DIR, then ../shared/tools beside the checkout, then /work/shared/tools. */
function toolScript(name: string): string | undefined {
  const dirs = [process.env['KEYGATE_TOOLS_DIR'], join(ROOT, '..', 'shared', 'tools'), join(ROOT, '..', '..', 'shared', 'tools'), '/work/shared/tools'];
  return dirs.filter((d): d is string => d !== undefined && d !== '').map((d) => join(d, name)).find((f) => existsSync(f));
}

const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

export interface ContainerEngine {
  /** Environment for `docker` commands (DOCKER_HOST when the script started a daemon). */
  env: NodeJS.ProcessEnv;
  /** `docker build` needs the legacy builder where there is no buildx (the script's daemon). */
  legacyBuilder: boolean;
}

/** A reachable Docker daemon: the one the environment points at, else one container-engine.sh starts. */
export function containerEngine(): Tool<ContainerEngine> {
  if (spawnSync('docker', ['version'], { stdio: 'ignore', timeout: 20_000 }).status === 0) return { ok: true, value: { env: { ...process.env }, legacyBuilder: false } };
  const script = toolScript('container-engine.sh');
  if (script === undefined) return { ok: false, reason: 'no Docker daemon reachable (`docker version` failed) and no container-engine.sh to start one' };
  const r = spawnSync('bash', [script], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return { ok: false, reason: `container-engine.sh exited ${r.status ?? r.signal}: ${lastLine(r.stderr)}` };
  const host = /export DOCKER_HOST=(\S+)/.exec(r.stdout)?.[1];
  if (host === undefined) return { ok: false, reason: `container-engine.sh printed no DOCKER_HOST: ${lastLine(r.stdout)}` };
  return { ok: true, value: { env: { ...process.env, DOCKER_HOST: host }, legacyBuilder: true } };
}

/** A helm v3 binary: `helm` on PATH, else the one get-helm.sh fetched (once per machine) into $TMPDIR/keygate-tools/bin. */
export function helmBinary(): Tool<string> {
  if (spawnSync('helm', ['version', '--short'], { stdio: 'ignore' }).status === 0) return { ok: true, value: 'helm' };
  const dir = join(tmpdir(), 'keygate-tools', 'bin');
  const cached = join(dir, 'helm');
  const works = () => spawnSync(cached, ['version', '--short'], { stdio: 'ignore' }).status === 0;
  if (existsSync(cached) && works()) return { ok: true, value: cached };
  const script = toolScript('get-helm.sh');
  if (script === undefined) return { ok: false, reason: 'helm is not on PATH and there is no get-helm.sh to fetch it' };
  const r = spawnSync('bash', [script, dir], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0 || !works()) return { ok: false, reason: `get-helm.sh failed (${r.status ?? r.signal}): ${lastLine(r.stderr || r.stdout)}` };
  return { ok: true, value: cached };
}
