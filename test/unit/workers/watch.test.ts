/**
 * The primary's config watch (src/workers/watch.ts): a changed file is reported once, however it
 * was written; an event that leaves the content as it was is not.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchConfig } from '../../../src/workers/watch.ts';

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watchConfig', () => {
  it('reports a rename-over and an in-place write once each, and not a rewrite of the same bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-watch-'));
    const file = join(dir, 'keygate.yaml');
    writeFileSync(file, 'a: 1\n');
    let changes = 0;
    const w = watchConfig(file, () => changes++, (e) => { throw e; }, 50);
    try {
      const until = async (n: number) => {
        const end = Date.now() + 5_000;
        while (changes < n && Date.now() < end) await settle(20);
      };
      writeFileSync(join(dir, 'keygate.yaml.tmp'), 'a: 2\n');
      renameSync(join(dir, 'keygate.yaml.tmp'), file);
      await until(1);
      expect(changes).toBe(1);
      writeFileSync(file, 'a: 3\n');
      await until(2);
      expect(changes).toBe(2);
      writeFileSync(file, 'a: 3\n');
      writeFileSync(join(dir, 'other.txt'), 'x');
      await settle(300);
      expect(changes).toBe(2);
    } finally {
      w.close();
    }
  });
});
