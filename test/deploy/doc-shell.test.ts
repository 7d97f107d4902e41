/**
 * The doc-examples runner checked on synthetic Markdown, so a green doc-examples run means the
 * docs ran: a failing block fails, an unset variable fails, a pipeline failure fails, exports
 * carry over, background jobs are stopped, a reason-less no-run is rejected, and the shown-output
 * and port-rewrite rules do what doc-shell.ts and doc-live.ts say.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { docShell, runSession, unmatchedOutput } from './doc-shell.ts';
import { portRewriter } from './doc-live.ts';
import { tempDir } from './support.ts';

const canRun = spawnSync('sh', ['-c', 'command -v bash']).status === 0;

/** Alive and not a zombie (a dead orphan stays a zombie until this machine's PID 1 reaps it). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe.skipIf(!canRun)(`the session runner itself${canRun ? '' : ' (skipped: bash not installed)'}`, () => {
  const synthetic = (markdown: string) => docShell('synthetic.md', markdown);
  const run = async (markdown: string) => {
    const doc = synthetic(markdown);
    return runSession(doc.blocks.filter((b) => b.noRun === null), { cwd: tempDir('doc-selfcheck'), env: { PATH: process.env.PATH }, timeoutMs: 10_000 });
  };

  it('fails a block whose command fails, and reaches none after it', async () => {
    const r = await run('```sh\necho one\n```\n\n```sh\nfalse\necho never\n```\n\n```bash\necho three\n```\n');
    expect(r.map((x) => x.status)).toEqual(['ok', 'failed', 'not-reached']);
    expect(r[1]?.status === 'failed' && r[1].output).not.toContain('never');
  });

  it('fails a block that uses a variable nothing exported', async () => {
    const r = await run('```sh\necho "$NOT_EXPORTED_ANYWHERE"\n```\n');
    expect(r[0]?.status).toBe('failed');
  });

  it('fails a block whose pipeline fails before its last command', async () => {
    const r = await run('```sh\nfalse | cat\n```\n');
    expect(r[0]?.status).toBe('failed');
  });

  it('runs one shell per document: an export in one block is seen by the next', async () => {
    const r = await run('```sh\nexport DOC_VALUE=42\n```\ntext\n```shell\ntest "$DOC_VALUE" = 42\n```\n');
    expect(r.map((x) => x.status)).toEqual(['ok', 'ok']);
  });

  it('stops what a block left running in the background', async () => {
    const r = await run('```sh\nsleep 300 &\necho "pid $!"\n```\n');
    const pid = Number(/pid (\d+)/.exec(r[0]?.status === 'ok' ? r[0].output : '')?.[1]);
    expect(pid).toBeGreaterThan(0);
    // The group was signalled before runSession returned; the kernel may take a moment to finish it.
    for (let i = 0; i < 100 && running(pid); i++) await new Promise((res) => setTimeout(res, 20));
    expect(running(pid), `pid ${pid} still runs`).toBe(false);
  });

  it('kills a session past its budget and fails the running block', async () => {
    const doc = synthetic('```sh\nsleep 300\n```\n');
    const r = await runSession(doc.blocks, { cwd: tempDir('doc-selfcheck'), env: { PATH: process.env.PATH }, timeoutMs: 500 });
    expect(r[0]?.status).toBe('failed');
  });

  it('runs a console fence\'s $ lines only and checks its output lines loosely, in order', async () => {
    const ok = synthetic('```console\n$ printf \'a\\nid-123\\nb\\n\'\na\nid-…\n$ echo \\\n  done\ndone\n```\n');
    expect(ok.blocks[0]?.script).toBe("printf 'a\\nid-123\\nb\\n'\necho \\\n  done");
    expect(ok.blocks[0]?.expected).toEqual(['a', 'id-…', 'done']);
    const [r] = await runSession(ok.blocks, { cwd: tempDir('doc-selfcheck'), env: { PATH: process.env.PATH } });
    expect(r?.status).toBe('ok');
    expect(unmatchedOutput(ok.blocks[0]?.expected ?? [], r?.status === 'ok' ? r.output : '')).toBeNull();
    expect(unmatchedOutput(['b', 'a'], 'a\nb\n')).toBe('a');
    expect(unmatchedOutput(['a'], 'ax\n')).toBe('a');
    expect(unmatchedOutput(['a'], '{"json":1}a\n')).toBeNull();
  });

  it('takes a ```text fence right after a shell fence (or after one "…:" paragraph) as its output', () => {
    const doc = synthetic('```sh\necho hi\n```\n\nIt prints:\n\n```text\nhi\n```\n\n```sh\necho x\n```\n\nA paragraph.\n\n```text\nnot output\n```\n');
    expect(doc.blocks.map((b) => b.expected)).toEqual([['hi'], null]);
  });

  it('reads what a doc runs against', () => {
    expect(synthetic('```sh\ntrue\n```\n').runAgainst).toEqual({ kind: 'default' });
    expect(synthetic('<!-- run-against: deploy/compose/keygate.yaml -->\n').runAgainst).toEqual({ kind: 'file', path: 'deploy/compose/keygate.yaml' });
    expect(synthetic('<!-- run-against: none: starts its own -->\n').runAgainst).toEqual({ kind: 'none', reason: 'starts its own' });
    expect(synthetic('x\n<!-- run-against: the config below -->\n```yaml\nroutes: []\n```\n').runAgainst).toEqual({ kind: 'block', at: 'synthetic.md:3', text: 'routes: []' });
    expect(synthetic('<!-- run-against: the config below -->\n\n```yaml\nroutes: []\n```\n').problems).toHaveLength(1);
    expect(synthetic('<!-- run-against: none -->\n').problems).toEqual(['synthetic.md:1: run-against: none needs a reason']);
  });

  it('rewrites the documented ports to the free ones, and nothing else', () => {
    const rewrite = portRewriter({ '8080': 41000, '9090': 41001, '3000': 41002 });
    expect(rewrite('curl http://127.0.0.1:8080/api http://localhost:9090/readyz')).toBe('curl http://127.0.0.1:41000/api http://localhost:41001/readyz');
    expect(rewrite('server: { port: 8080, host: 127.0.0.1 }\nadmin:\n  port: "9090"\nurl: http://127.0.0.1:3000')).toBe('server: { port: 41000, host: 127.0.0.1 }\nadmin:\n  port: 41001\nurl: http://127.0.0.1:41002');
    expect(rewrite('http://127.0.0.1:80801 http://10.0.0.1:8080 redis://127.0.0.1:6379 maxPort: 18080')).toBe('http://127.0.0.1:80801 http://10.0.0.1:8080 redis://127.0.0.1:6379 maxPort: 18080');
  });

  it('skips a block under <!-- no-run: reason --> and rejects one without a reason or in the info string', () => {
    const doc = synthetic('<!-- no-run: needs kubectl -->\n```sh\nkubectl get pods\n```\n\n<!-- no-run -->\n```sh\nfalse\n```\n\n```sh no-run: old form\ntrue\n```\n\n<!-- no-run: marks nothing -->\n\n```sh\ntrue\n```\n');
    expect(doc.blocks.map((b) => b.noRun)).toEqual(['needs kubectl', '', null, null]);
    expect(doc.problems).toEqual([
      'synthetic.md:15: a no-run comment must sit right above a shell fence',
      'synthetic.md:7: no-run without a reason',
      'synthetic.md:11: no-run in the info string; use <!-- no-run: reason --> on the line above',
    ]);
  });
});
