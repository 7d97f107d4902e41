import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PROBE = fileURLToPath(new URL('./flags-probe.ts', import.meta.url));

function probe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ childPid: number; out: { pid: number; execArgv: string[]; argv: string[] } }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PROBE, ...args], { env: { ...process.env, NODE_OPTIONS: '', KEYGATE_RUNTIME_FLAGS_APPLIED: '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', () => resolve({ childPid: child.pid as number, out: JSON.parse(out) }));
  });
}

describe('runtime flags (issue 12: keygate sets its own V8 flags)', () => {
  it('serve re-executes in place with --max-semi-space-size=4, keeping pid and arguments', async () => {
    const { childPid, out } = await probe(['serve', '--config', 'x.yaml']);
    expect(out.execArgv).toContain('--max-semi-space-size=4');
    expect(out.pid).toBe(childPid);
    expect(out.argv).toEqual(['serve', '--config', 'x.yaml']);
  });

  it('other commands start as they are', async () => {
    expect((await probe(['keys', 'list'])).out.execArgv).not.toContain('--max-semi-space-size=4');
  });

  it("the operator's own flag wins, and KEYGATE_NODE_FLAGS=off turns it off", async () => {
    expect((await probe(['serve'], { NODE_OPTIONS: '--max-semi-space-size=16' })).out.execArgv).toEqual([]);
    expect((await probe(['serve'], { KEYGATE_NODE_FLAGS: 'off' })).out.execArgv).toEqual([]);
  });
});
