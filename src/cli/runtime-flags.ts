/**
 * V8 flags keygate runs `serve` with, set by keygate itself (issue 12: not left to the user).
 *
 * Under load V8 grows the young generation to 64–128 MiB of semi-spaces in every Node process
 * here; capped at 4–8 MiB each, keygate's peak RSS fell from 330–356 to ≈221 MiB at no measurable
 * CPU cost (requests allocate little that survives a scavenge; issue 12's profile). 4 rather
 * than 8: the 10k-key start-up peak 170–176 → 165–168 MiB, and 8 MiB less young generation
 * under load, where a full audit ring brought the peak near the 230 MiB target. The flag must be given at
 * startup: `v8.setFlagsFromString` after the heap exists only half-works (measured: young
 * generation 64 → 32 MiB instead of 16, VmHWM 125 → 92 MiB instead of 76 on the same load).
 * So `keygate serve` re-executes itself once with the flag, in place (`process.execve`: same
 * pid, so signals and container supervisors see no difference). An operator's own
 * `--max-semi-space-size` (on the command line or in NODE_OPTIONS) wins, and
 * KEYGATE_NODE_FLAGS=off turns this off.
 */
import v8 from 'node:v8';

export const SEMI_SPACE_FLAG = '--max-semi-space-size=4';
/** Set in the re-executed process, so it never loops. */
const MARK = 'KEYGATE_RUNTIME_FLAGS_APPLIED';

/** Whether the flag is already in effect for this process (given by the operator or by us). */
function alreadySet(): boolean {
  const given = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)];
  return given.some((a) => a.startsWith('--max-semi-space-size')) || process.env[MARK] === '1';
}

/**
 * Call first thing in the CLI entry with the command being run. Returns normally when nothing
 * is to be done; otherwise the process image is replaced and this never returns.
 */
export function applyRuntimeFlags(command: string | undefined): void {
  if (command !== 'serve' || process.env['KEYGATE_NODE_FLAGS'] === 'off' || alreadySet()) return;
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  if (typeof execve === 'function') {
    execve.call(process, process.execPath, [process.execPath, SEMI_SPACE_FLAG, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, [MARK]: '1' });
  }
  // No execve (Windows, Node < 23.11): the late flag still halves the young generation.
  v8.setFlagsFromString(SEMI_SPACE_FLAG);
}
