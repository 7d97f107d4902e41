import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** Runs the real `keygate` CLI as a child process and collects its output. */
export function runCli(args: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

export interface ServeProcess {
  child: ChildProcess;
  /** Everything written to stdout so far (JSON log lines). */
  output(): string;
  /** Resolves with the first log line whose msg matches. */
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** `keygate serve --config FILE` as a child process, resolved once it logs that it is listening. */
export async function startServe(configFile: string, env: NodeJS.ProcessEnv = {}, listenTimeoutMs = 15_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const listeners: (() => void)[] = [];
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); for (const l of [...listeners]) l(); });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => { for (const l of [...listeners]) l(); r(code); }));
  const lines = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  function waitForLog(msg: string | RegExp, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = lines().find((l) => (typeof msg === 'string' ? l['msg'] === msg : msg.test(String(l['msg']))));
        if (hit !== undefined) { done(); resolve(hit); return; }
        if (child.exitCode !== null) { done(); reject(new Error(`keygate exited (${child.exitCode}) before logging ${String(msg)}:\n${err}\n${out}`)); }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${String(msg)}:\n${err}\n${out}`)); }, timeoutMs);
      const done = () => { clearTimeout(timer); listeners.splice(listeners.indexOf(check), 1); };
      listeners.push(check);
      check();
    });
  }
  const proc: ServeProcess = {
    child, output: () => out, waitForLog, exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  await waitForLog('keygate listening', listenTimeoutMs);
  return proc;
}
