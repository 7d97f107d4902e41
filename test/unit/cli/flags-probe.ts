/** Child process for runtime-flags.test.ts: the CLI entry's first import, then what took effect. */
import '../../../src/cli/apply-runtime-flags.ts';
import v8 from 'node:v8';

const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
process.stdout.write(`${JSON.stringify({ pid: process.pid, execArgv: process.execArgv, argv: process.argv.slice(2), newSpaceMax: young?.space_available_size })}\n`);
