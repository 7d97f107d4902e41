/**
 * Builds the console (issue 15) into dist/console/: index.html, which names the hashed
 * assets/app-<hash>.js and .css, so browsers may cache assets forever and always get the page
 * fresh. No CDN and nothing fetched at run time; the admin listener serves these files.
 *
 *   node scripts/build-console.ts [--out DIR]
 */
import { build } from 'esbuild';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ConsoleBuild {
  outDir: string;
  files: { path: string; bytes: number; gzipBytes: number }[];
  gzipTotal: number;
}

/**
 * Builds into `outDir`. Without `clean`, files are replaced in place (index.html atomically), so a
 * gateway serving the directory never sees it half-written: the browser tests build while another
 * test file's gateway may be serving. Asset names are content hashes, so equal sources give equal files.
 */
export async function buildConsole(outDir = join(ROOT, 'dist', 'console'), opts: { clean?: boolean } = {}): Promise<ConsoleBuild> {
  const assets = join(outDir, 'assets');
  if (opts.clean === true) rmSync(outDir, { recursive: true, force: true });
  mkdirSync(assets, { recursive: true });
  const result = await build({
    entryPoints: { app: join(ROOT, 'console', 'src', 'main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: '[name]-[hash]',
    outdir: assets,
    write: false,
    legalComments: 'none',
    sourcemap: false,
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const names: Record<string, string> = {};
  const files: ConsoleBuild['files'] = [];
  for (const f of result.outputFiles) {
    writeAtomically(f.path, f.contents);
    const name = basename(f.path);
    names[name.endsWith('.css') ? 'css' : 'js'] = name;
    files.push({ path: `assets/${name}`, bytes: f.contents.length, gzipBytes: gzipSync(f.contents, { level: 9 }).length });
  }
  if (names['js'] === undefined || names['css'] === undefined) throw new Error('esbuild produced no app js or css');
  const html = readFileSync(join(ROOT, 'console', 'index.html'), 'utf8')
    .replace('{{js}}', names['js'])
    .replace('{{css}}', names['css']);
  writeAtomically(join(outDir, 'index.html'), html);
  files.push({ path: 'index.html', bytes: Buffer.byteLength(html), gzipBytes: gzipSync(html, { level: 9 }).length });
  return { outDir, files, gzipTotal: files.reduce((n, f) => n + f.gzipBytes, 0) };
}

function writeAtomically(path: string, contents: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const out = i === -1 ? undefined : process.argv[i + 1];
  const b = await buildConsole(out, { clean: true });
  // stderr: this runs in prepack, and `npm pack --json` must print only its JSON on stdout.
  for (const f of b.files) console.error(`${f.path.padEnd(32)} ${String(f.bytes).padStart(8)} B  ${String(f.gzipBytes).padStart(7)} B gzip`);
  console.error(`total gzip: ${(b.gzipTotal / 1024).toFixed(1)} KB (budget 150 KB) -> ${b.outDir}`);
}
