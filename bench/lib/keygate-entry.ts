import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * What the benches start as keygate: the compiled `dist/cli/bin.js`, which is what the npm
 * package's `keygate` command and the image run (issue 12: measure what `serve` runs). The .ts
 * sources under type stripping cost ≈25 MiB more RSS (Node's TypeScript stripper is loaded)
 * and no measurable CPU. bench/run.sh compiles dist/ first (`tsc -p tsconfig.build.json`).
 */
export const KEYGATE_BIN = 'dist/cli/bin.js';

/** Why keygate cannot be started here, or null. */
export function keygateUnavailable(): string | null {
  if (!existsSync(join(ROOT, 'src/cli/main.ts'))) return 'keygate not available: src/cli/main.ts does not exist yet';
  if (!existsSync(join(ROOT, KEYGATE_BIN))) return `keygate not built: ${KEYGATE_BIN} is missing (bench/run.sh compiles it; or run npm run build)`;
  return null;
}
