/**
 * The reloader against real files and a real fs.watch: a bad file never replaces a good config,
 * the log says why, and the editor and Kubernetes ways of replacing a file are all noticed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createReloader, type Reloader, type ReloaderOptions } from '../../../src/config/reloader.ts';
import type { GatewayConfig } from '../../../src/config/types.ts';

const config = (routeName: string) => [
  'upstreams:',
  '  app: { url: "http://127.0.0.1:3000" }',
  'routes:',
  `  - { name: ${routeName}, path: "/api/*", upstream: app, action: application:view }`,
  '',
].join('\n');
const BROKEN = ['upstreams:', '  app: { url: "http://127.0.0.1:3000" }', 'routes:', '  - { name: r, path: "/api/*", upstream: nope, action: a:b }', ''].join('\n');

interface Entry { level: 'info' | 'error'; obj: Record<string, unknown>; msg: string }

async function waitFor(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const open: Reloader[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

function setup(initial: string, over: Partial<ReloaderOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-reload-'));
  const file = join(dir, 'keygate.yaml');
  writeFileSync(file, initial);
  const swaps: GatewayConfig[] = [];
  const log: Entry[] = [];
  const results: string[] = [];
  const reloader = createReloader({
    file, env: {}, debounceMs: 50,
    logger: { info: (obj, msg) => log.push({ level: 'info', obj: obj as Record<string, unknown>, msg }), error: (obj, msg) => log.push({ level: 'error', obj: obj as Record<string, unknown>, msg }) },
    onSwap: (c) => { swaps.push(c); },
    onResult: (r) => results.push(r),
    ...over,
  });
  open.push(reloader);
  const names = () => swaps.map((c) => c.routes[0]?.name);
  return { dir, file, reloader, swaps, log, results, names };
}

describe('createReloader', () => {
  it('follows file changes: good → bad keeps the last good config and logs why → good swaps again', async () => {
    const t = setup(config('one'));
    t.reloader.watch();

    writeFileSync(t.file, config('two'));
    await waitFor('the first swap', () => t.swaps.length === 1);
    expect(t.names()).toEqual(['two']);
    expect(t.log.at(-1)).toMatchObject({ level: 'info', msg: 'config reloaded', obj: { reason: 'file-change', routes: 1 } });

    writeFileSync(t.file, BROKEN);
    await waitFor('the rejection', () => t.log.some((e) => e.level === 'error'));
    const rejected = t.log.find((e) => e.level === 'error');
    expect(rejected?.msg).toBe('config reload rejected; keeping the running config');
    expect(rejected?.obj['problems']).toEqual([`${t.file}:4:42: /routes/0/upstream: upstream "nope" is not defined (defined: app)`]);
    expect(t.names()).toEqual(['two']);

    writeFileSync(t.file, config('three'));
    await waitFor('the second swap', () => t.swaps.length === 2);
    expect(t.names()).toEqual(['two', 'three']);
    expect(t.results).toEqual(['success', 'failure', 'success']);
  });

  it('notices an editor\'s atomic save (write a temp file, rename it over)', async () => {
    const t = setup(config('one'));
    t.reloader.watch();
    writeFileSync(join(t.dir, '.keygate.yaml.tmp'), config('renamed'));
    renameSync(join(t.dir, '.keygate.yaml.tmp'), t.file);
    await waitFor('the swap', () => t.swaps.length === 1);
    expect(t.names()).toEqual(['renamed']);
  });

  it('notices a Kubernetes ConfigMap update (the ..data symlink swapped)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-configmap-'));
    const version = (name: string, text: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'keygate.yaml'), text);
    };
    version('..v1', config('one'));
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync('..data/keygate.yaml', join(dir, 'keygate.yaml'));
    const t = setup('', { file: join(dir, 'keygate.yaml') });
    t.reloader.watch();

    version('..v2', config('two'));
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await waitFor('the swap', () => t.swaps.length === 1);
    expect(t.names()).toEqual(['two']);
  });

  it('does not swap when a change event brings the same content', async () => {
    const t = setup(config('one'));
    t.reloader.watch();
    writeFileSync(t.file, config('one'));
    writeFileSync(join(t.dir, 'other.yaml'), config('other'));
    await sleep(400);
    expect(await t.reloader.reload('file-change')).toBe(true);
    expect(t.swaps).toEqual([]);
    expect(t.log).toEqual([]);
    expect(t.results).toEqual([]);
  });

  it('reloads on SIGHUP even when the file is unchanged (the environment may have changed)', async () => {
    const t = setup(config('one'));
    const done = new Promise<boolean>((resolve) => process.once('SIGHUP', () => resolve(t.reloader.reload('sighup'))));
    process.kill(process.pid, 'SIGHUP');
    expect(await done).toBe(true);
    expect(t.names()).toEqual(['one']);
    expect(t.log).toEqual([{ level: 'info', msg: 'config reloaded', obj: { reason: 'sighup', file: t.file, routes: 1 } }]);
  });

  it('keeps the running config on a manual reload of a bad or missing file, and resolves false', async () => {
    const t = setup(BROKEN);
    expect(await t.reloader.reload('manual')).toBe(false);
    writeFileSync(t.file, '');
    const missing = setup(config('x'), { file: join(t.dir, 'absent.yaml') });
    expect(await missing.reloader.reload('manual')).toBe(false);
    expect(missing.log[0]?.obj['problems']).toEqual([`${join(t.dir, 'absent.yaml')}:0:0: cannot read the config file: no such file`]);
    expect([...t.swaps, ...missing.swaps]).toEqual([]);
  });

  it('treats a throwing onSwap as a failed reload, without rejecting', async () => {
    const t = setup(config('one'), { onSwap: () => { throw new Error('listener gone'); } });
    expect(await t.reloader.reload('manual')).toBe(false);
    expect(t.log[0]).toMatchObject({ level: 'error', msg: 'config reload failed; keeping the running config' });
    expect(t.results).toEqual(['failure']);
  });

  it('serializes reloads: requests during one coalesce into a single further run', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const t = setup(config('one'), {
      onSwap: async (c) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(100);
        t.swaps.push(c);
        inFlight--;
      },
    });
    const first = t.reloader.reload('manual');
    await sleep(20);
    writeFileSync(t.file, config('two'));
    const rest = [t.reloader.reload('manual'), t.reloader.reload('sighup'), t.reloader.reload('manual')];
    expect(await Promise.all([first, ...rest])).toEqual([true, true, true, true]);
    expect(maxInFlight).toBe(1);
    expect(t.names()).toEqual(['one', 'two']);
  });

  it('stops reacting to changes after close()', async () => {
    const t = setup(config('one'));
    t.reloader.watch();
    t.reloader.close();
    writeFileSync(t.file, config('two'));
    await sleep(300);
    expect(t.swaps).toEqual([]);
  });

  it('does not keep the process alive while watching', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-unref-'));
    writeFileSync(join(dir, 'keygate.yaml'), config('one'));
    const reloader = fileURLToPath(new URL('../../../src/config/reloader.ts', import.meta.url));
    const script = `
      import { createReloader } from ${JSON.stringify(reloader)};
      const r = createReloader({ file: ${JSON.stringify(join(dir, 'keygate.yaml'))}, logger: console, onSwap() {} });
      r.watch();
      console.log('watching');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000, encoding: 'utf8' });
    expect(child.stdout.trim()).toBe('watching');
    expect(child.signal).toBeNull(); // not killed by the timeout: it exited on its own
    expect(child.status).toBe(0);
  });
});
