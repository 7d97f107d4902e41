# Sourced by scripts/dev and .ci/run: puts a Node.js >= 22.19 first on PATH and installs the
# project's npm dependencies. Machines whose node is older (this team's ship Node 20) get the
# pinned Node 24 from the npm package `node` (a real binary) under .tools/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}
if [ -x "$ROOT/.tools/node_modules/.bin/node" ]; then
  export PATH="$ROOT/.tools/node_modules/.bin:$PATH"
fi
if ! node_ok; then
  command -v npm >/dev/null 2>&1 || { echo "keygate: need node >= 22.19 or at least npm to fetch it" >&2; exit 1; }
  echo "keygate: node $(node --version 2>/dev/null || echo missing) is too old; installing Node 24 into .tools/" >&2
  (cd "$ROOT/.tools" && npm install --no-audit --no-fund --loglevel=error >&2)
  export PATH="$ROOT/.tools/node_modules/.bin:$PATH"
  node_ok || { echo "keygate: could not provide node >= 22.19" >&2; exit 1; }
fi
# Reinstall only when the lockfile changed since the last install.
if [ ! -f "$ROOT/node_modules/.package-lock.json" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
