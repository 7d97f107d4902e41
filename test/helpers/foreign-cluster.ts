/**
 * A cluster primary that is not keygate's (as pm2's cluster mode is): forks one `keygate serve`
 * worker and reports its exit code on stdout. For test/integration/workers-foreign-cluster.test.ts.
 *   node foreign-cluster.ts <config file>
 */
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';

cluster.setupPrimary({ exec: fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)), args: ['serve', '--config', process.argv[2] as string] });
const worker = cluster.fork();
worker.on('exit', (code) => {
  process.stdout.write(`\nforeign-primary: worker exited ${code}\n`);
  process.exit(0);
});
process.on('SIGTERM', () => worker.process.kill('SIGTERM'));
