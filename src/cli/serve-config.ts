import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Why `serve` reads the file it reads; said in its first log line. */
export type ServeConfigSource = '--config' | '$KEYGATE_CONFIG' | './keygate.yaml' | 'packaged default';

/** The embedded default shipped in the package (config/ sits beside src/ and dist/). */
export const PACKAGED_CONFIG = fileURLToPath(new URL('../../config/keygate.yaml', import.meta.url));

/**
 * `keygate serve`'s config file, first found wins: `--config`, then `$KEYGATE_CONFIG`, then
 * `./keygate.yaml` (what `keygate init` writes), then the packaged default — so the installed
 * command runs from any directory (issue 11). An explicit choice is never second-guessed: a
 * missing `--config` file is an error, not a fallback. Paths stay as given (relative to the
 * working directory), so problems are reported against the name the operator typed.
 */
export function resolveServeConfig(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): { file: string; source: ServeConfigSource } {
  if (flag !== undefined && flag !== '') return { file: flag, source: '--config' };
  const fromEnv = env['KEYGATE_CONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') return { file: fromEnv, source: '$KEYGATE_CONFIG' };
  if (existsSync(resolve(cwd, 'keygate.yaml'))) return { file: 'keygate.yaml', source: './keygate.yaml' };
  return { file: PACKAGED_CONFIG, source: 'packaged default' };
}
