import { spawnSync } from 'node:child_process';

/** A python3 that has `requests` (pyenv's first, then Debian's python3-requests). */
export function pythonWithRequests(): string {
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import requests'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  throw new Error('no python3 with the requests module: apt-get install python3-requests (scripts/dev test does it)');
}
