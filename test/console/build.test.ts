import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConsole } from '../../scripts/build-console.ts';
import { ROOT } from '../helpers/cli.ts';

describe('the console build (scripts/build-console.ts)', () => {
  it('writes index.html naming hashed assets, within the 150 KB gzip budget, with nothing inline or remote', async () => {
    const out = mkdtempSync(join(tmpdir(), 'keygate-console-build-'));
    const b = await buildConsole(out, { clean: true });
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    const assets = readdirSync(join(out, 'assets')).sort();
    expect(assets).toHaveLength(2);
    for (const a of assets) expect(a).toMatch(/^app-[A-Z0-9]{8}\.(js|css)$/);
    for (const a of assets) expect(html).toContain(`assets/${a}`);
    // The CSP allows script and style from 'self' only: no inline <script> body, no style attribute or element.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=/);
    // Offline: nothing from another origin.
    expect(html).not.toMatch(/https?:\/\//);
    const js = readFileSync(join(out, 'assets', assets.find((a) => a.endsWith('.js')) as string), 'utf8');
    expect(js).not.toMatch(/https?:\/\/(?!www\.w3\.org\/)/); // the SVG namespace is a name, not a fetch
    expect(b.gzipTotal).toBeLessThan(150 * 1024);
    console.log(`console assets: ${(b.gzipTotal / 1024).toFixed(1)} KB gzip in total`);
  });

  it('renders user strings as text only: no source uses dangerouslySetInnerHTML, innerHTML or eval', () => {
    const files = readdirSync(join(ROOT, 'console', 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.tsx?$/.test(f));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const src = readFileSync(join(ROOT, 'console', 'src', f), 'utf8');
      expect(src, f).not.toMatch(/dangerouslySetInnerHTML|\.innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
    }
  });

  it('builds the same hashed names from the same sources', async () => {
    const a = await buildConsole(mkdtempSync(join(tmpdir(), 'keygate-console-build-')), { clean: true });
    const b = await buildConsole(mkdtempSync(join(tmpdir(), 'keygate-console-build-')), { clean: true });
    expect(b.files.map((f) => f.path)).toEqual(a.files.map((f) => f.path));
  });
});
