/**
 * Imported first by the CLI entry (src/cli/main.ts), so `keygate serve` re-executes with its V8
 * flags before the rest of the program is evaluated. See runtime-flags.ts.
 */
import { applyRuntimeFlags } from './runtime-flags.ts';

applyRuntimeFlags(process.argv[2]);
