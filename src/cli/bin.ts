#!/usr/bin/env node
/**
 * The installed `keygate` command. It checks the Node version before loading anything else:
 * its dependencies (undici first) need Node >= 22.19, and an older system Node would otherwise
 * fail deep inside a dependency with an unrelated-looking TypeError (issue 11). No static
 * imports, so this file alone runs — and explains — on any Node that can load an ES module.
 */
const MINIMUM = [22, 19] as const;
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < MINIMUM[0] || (major === MINIMUM[0] && minor < MINIMUM[1])) {
  process.stderr.write(
    `keygate: needs Node.js >= ${MINIMUM.join('.')}, but this is ${process.version} (${process.execPath}).\n` +
      'Install a current Node (https://nodejs.org, or nvm/fnm/volta) and put it first on PATH, or run the container image.\n',
  );
  process.exit(1);
}
await import('./main.ts');
