import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, sep } from 'node:path';
import { AdminError } from '../../lifecycle/errors.ts';

/**
 * The console's built files: `dist/console/` at the package root, the same place from
 * src/admin/console/ (a checkout) and dist/admin/console/ (the npm package, the image).
 */
export const ASSETS_DIR = fileURLToPath(new URL('../../../dist/console/', import.meta.url));

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * One asset file name: letters, digits, `.`, `_`, `-`, not starting with a dot. No separator, no
 * `..`, no percent-escape survives this, so no request can name a file outside assets/ (and the
 * resolved path is checked again below, in case the rule is ever loosened).
 */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;
/** esbuild's `[name]-[hash]` entry names: such a file never changes, so caches keep it. */
const HASHED = /-[A-Za-z0-9]{8,}\.[a-z0-9]+$/;

export function createStaticFiles(dir: string = ASSETS_DIR) {
  const assets = join(dir, 'assets') + sep;

  async function send(req: IncomingMessage, res: ServerResponse, file: string, cache: string): Promise<void> {
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      throw new AdminError('not_found', 'No such console file');
    }
    const ext = file.slice(file.lastIndexOf('.'));
    res.writeHead(200, { 'content-type': TYPES[ext] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': cache });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  return {
    /** Whether the console was built (`node scripts/build-console.ts`). */
    async built(): Promise<boolean> {
      return stat(join(dir, 'index.html')).then((s) => s.isFile(), () => false);
    },
    /** `/console/` → index.html, never cached: a new release's asset names must be picked up at once. */
    index: (req: IncomingMessage, res: ServerResponse) => send(req, res, join(dir, 'index.html'), 'no-store'),
    /** `rest`: what follows `/console/assets/`, still percent-encoded. */
    asset(req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
      if (!ASSET_NAME.test(rest)) throw new AdminError('not_found', 'No such console file');
      const file = join(assets, rest);
      if (!file.startsWith(assets)) throw new AdminError('not_found', 'No such console file');
      return send(req, res, file, HASHED.test(rest) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  };
}
