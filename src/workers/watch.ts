import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';

/**
 * The primary's config watch: the same rules as the reloader's (the directory, not the file, so
 * editors' renames and ConfigMap `..data` swaps count; debounced; content unchanged → nothing),
 * without parsing anything — the primary never holds the config (a 10k-key file parses into
 * ≈ 150 MiB that V8 and malloc keep resident afterwards), a worker loads it.
 */
export function watchConfig(file: string, onChange: () => void, onError: (e: Error) => void, debounceMs = 150): { close(): void } {
  const path = resolve(file);
  const digest = () => {
    try {
      return createHash('sha256').update(readFileSync(path)).digest('hex');
    } catch {
      return null;
    }
  };
  let last = digest();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, (_event, name) => {
    if (closed || (name !== null && name !== basename(path) && name !== '..data')) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      const now = digest();
      if (now === last) return;
      last = now;
      onChange();
    }, debounceMs);
    timer.unref();
  });
  watcher.on('error', onError);
  watcher.unref();
  return {
    close() {
      closed = true;
      watcher.close();
      if (timer !== null) clearTimeout(timer);
    },
  };
}
