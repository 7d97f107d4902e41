/**
 * The shell examples of a Markdown document, and one bash session that runs them in order.
 *
 * Markers (HTML comments, invisible on GitHub), on the line right above what they mark:
 * - `<!-- no-run: reason -->` above a shell fence: not executed; the reason is mandatory and shows
 *   in the skipped test's name. Anywhere else it is an error, as is the old info-string form.
 * - `<!-- run-against: PATH -->` (a config file of the repo), `<!-- run-against: the config below -->`
 *   (right above a ```yaml fence) or `<!-- run-against: none: reason -->` (the doc starts what it
 *   needs itself): what the session's gateway serves. Without one, the embedded default
 *   `config/keygate.yaml`, as `keygate serve` with no arguments.
 *
 * Output a doc shows is checked loosely: for a ```console fence, its lines without `$ `; for
 * another shell fence, the ```text fence that follows it directly or after one paragraph ending
 * in `:` ("… received (abridged):"). Each shown line must end an output line (trailing blanks
 * aside; "end", as a command's output without a final newline runs into the next line), in
 * order, other lines in between allowed; `…` or `...` inside a shown line matches any text.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fences, type Fence } from './support.ts';

export const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console']);

export interface ShellBlock {
  /** `file:line` of the opening fence. */
  at: string;
  lang: string;
  /** What bash runs: the fence body, or a console fence's `$ ` commands. */
  script: string;
  /** Lines the doc shows as this block's output, or null when it shows none. */
  expected: string[] | null;
  /** The reason of a `<!-- no-run: … -->` above it; null when it runs. */
  noRun: string | null;
}

export type RunAgainst = { kind: 'file'; path: string } | { kind: 'block'; at: string; text: string } | { kind: 'none'; reason: string } | { kind: 'default' };

export interface DocShell {
  blocks: ShellBlock[];
  runAgainst: RunAgainst;
  /** Marker mistakes: a no-run without reason, one that marks no shell fence, the old form. */
  problems: string[];
}

const NO_RUN = /^\s*<!--\s*no-run\b:?\s*(.*?)\s*-->\s*$/;
const RUN_AGAINST = /^\s*<!--\s*run-against:\s*(.*?)\s*-->\s*$/;

/** A console fence: `$ ` lines (and their `\` continuations) run; every other line is output. */
function splitConsole(body: string): { script: string; output: string[] } {
  const script: string[] = [];
  const output: string[] = [];
  let continued = false;
  for (const line of body.split('\n')) {
    if (continued || line.startsWith('$ ') || line === '$') {
      const cmd: string = continued ? line : line.slice(2);
      script.push(cmd);
      continued = cmd.endsWith('\\');
    } else if (line.trim() !== '') {
      output.push(line);
    }
  }
  return { script: script.join('\n'), output };
}

/** The ```text fence showing a shell fence's output: next fence, after nothing or one `…:` paragraph. */
function shownOutput(lines: string[], fence: Fence, next: Fence | undefined): string[] | null {
  if (next?.lang !== 'text') return null;
  const close = fence.line + fence.body.split('\n').length; // 0-based index of the closing fence
  const between = lines.slice(close + 1, next.line - 1).join('\n').trim();
  if (between !== '' && (between.includes('\n\n') || !between.endsWith(':'))) return null;
  return next.body.split('\n').filter((l) => l.trim() !== '');
}

export function docShell(file: string, markdown: string): DocShell {
  const lines = markdown.split('\n');
  const all = fences(markdown);
  const problems: string[] = [];
  const blocks: ShellBlock[] = [];
  const fenceAt = new Map(all.map((f) => [f.line, f]));
  let runAgainst: RunAgainst = { kind: 'default' };

  lines.forEach((line, i) => {
    const noRun = NO_RUN.exec(line);
    if (noRun !== null && !SHELL_LANGS.has(fenceAt.get(i + 2)?.lang ?? '')) problems.push(`${file}:${i + 1}: a no-run comment must sit right above a shell fence`);
    const against = RUN_AGAINST.exec(line);
    if (against === null) return;
    const value = against[1] as string;
    if (runAgainst.kind !== 'default') problems.push(`${file}:${i + 1}: a second run-against`);
    else if (value === 'the config below') {
      const f = fenceAt.get(i + 2);
      if (f?.lang !== 'yaml') problems.push(`${file}:${i + 1}: run-against: the config below, but no yaml fence follows`);
      else runAgainst = { kind: 'block', at: `${file}:${f.line}`, text: f.body };
    } else if (value.startsWith('none')) {
      const reason = value.replace(/^none:?\s*/, '');
      if (reason === '') problems.push(`${file}:${i + 1}: run-against: none needs a reason`);
      runAgainst = { kind: 'none', reason };
    } else runAgainst = { kind: 'file', path: value };
  });

  all.forEach((fence, n) => {
    if (!SHELL_LANGS.has(fence.lang)) return;
    const at = `${file}:${fence.line}`;
    if (/\bno-run\b/.test(fence.info)) problems.push(`${at}: no-run in the info string; use <!-- no-run: reason --> on the line above`);
    const marker = NO_RUN.exec(lines[fence.line - 2] ?? '');
    let noRun: string | null = null;
    if (marker !== null) {
      noRun = marker[1] as string;
      if (noRun === '') problems.push(`${at}: no-run without a reason`);
    }
    if (fence.lang === 'console') {
      const { script, output } = splitConsole(fence.body);
      blocks.push({ at, lang: fence.lang, script, expected: output.length > 0 ? output : null, noRun });
    } else {
      blocks.push({ at, lang: fence.lang, script: fence.body, expected: shownOutput(lines, fence, all[n + 1]), noRun });
    }
  });
  return { blocks, runAgainst, problems };
}

/** Where the shown lines stop matching the output, or null when they all match in order. */
export function unmatchedOutput(expected: string[], output: string): string | null {
  const got = output.split('\n').map((l) => l.trimEnd());
  let from = 0;
  for (const want of expected) {
    const parts = want.trimEnd().split(/…|\.\.\./).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    // `$` only: output a command printed without a final newline (curl's JSON) runs into the next line.
    const re = new RegExp(`${parts.join('.*')}$`);
    const hit = got.findIndex((l, i) => i >= from && re.test(l));
    if (hit < 0) return want;
    from = hit + 1;
  }
  return null;
}

export type BlockResult = { status: 'ok'; output: string } | { status: 'failed'; output: string; code: number | null } | { status: 'not-reached'; because: string };

export interface SessionOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The whole session's budget; past it the session is killed and its running block fails. */
  timeoutMs?: number;
}

/**
 * Runs the blocks in one `bash` (so an `export` in one is seen by the next) under
 * `set -euo pipefail`: a failing command or an unset variable fails its block and ends the
 * session. bash leads its own process group; whatever a block left running (`cmd &`) is stopped
 * with the group when the session ends.
 */
/** Process groups of sessions still running, killed if the test process exits mid-session. */
const liveGroups = new Set<number>();
process.on('exit', () => {
  for (const pgid of liveGroups) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
  }
});

export async function runSession(blocks: { at: string; script: string }[], opts: SessionOptions): Promise<BlockResult[]> {
  const nonce = randomBytes(6).toString('hex');
  const mark = (n: number, what: 'begin' | 'end') => `printf '\\n@@doc-block:${nonce}:${n}:${what}@@\\n'`;
  const script = ['exec 2>&1', 'set -euo pipefail', ...blocks.flatMap((b, n) => [mark(n, 'begin'), b.script, mark(n, 'end')])].join('\n');
  const child = spawn('bash', ['-c', script], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const pgid = child.pid as number; // detached: bash's pid is its process group's id
  liveGroups.add(pgid);
  const killGroup = (signal: NodeJS.Signals) => {
    try { process.kill(-pgid, signal); } catch { /* the group is gone */ }
  };
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; killGroup('SIGKILL'); }, opts.timeoutMs ?? 30_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  // Background jobs outlive bash and hold its stdout: stop the group, then let the pipe drain.
  killGroup('SIGTERM');
  await new Promise<void>((resolve) => {
    const hard = setTimeout(resolve, 3000);
    child.stdout.once('close', () => { clearTimeout(hard); resolve(); });
    if (child.stdout.closed) { clearTimeout(hard); resolve(); }
  });
  // A job that ignores SIGTERM or closed its stdout is still in the group.
  killGroup('SIGKILL');
  liveGroups.delete(pgid);

  const results: BlockResult[] = [];
  let failedAt: string | null = null;
  blocks.forEach((b, n) => {
    const begin = `@@doc-block:${nonce}:${n}:begin@@\n`;
    const end = `\n@@doc-block:${nonce}:${n}:end@@`;
    const start = out.indexOf(begin);
    if (failedAt !== null || start < 0) { results.push({ status: 'not-reached', because: failedAt ?? 'the session ended before it' }); return; }
    const stop = out.indexOf(end, start);
    const next = out.indexOf(`@@doc-block:${nonce}:${n + 1}:begin@@`, start);
    const output = out.slice(start + begin.length, stop >= 0 ? stop : next >= 0 ? next : out.length);
    if (stop < 0) {
      failedAt = b.at;
      results.push({ status: 'failed', output: timedOut ? `${output}\n(killed: the session ran past its ${opts.timeoutMs ?? 30_000} ms)` : output, code });
    } else results.push({ status: 'ok', output });
  });
  return results;
}
