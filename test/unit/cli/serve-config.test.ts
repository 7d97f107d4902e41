import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGED_CONFIG, resolveServeConfig } from '../../../src/cli/serve-config.ts';
import { tempDir } from '../../deploy/support.ts';

describe('keygate serve: which config file (issue 11)', () => {
  const withLocal = tempDir('serve-config');
  writeFileSync(join(withLocal, 'keygate.yaml'), '');
  const empty = tempDir('serve-config-empty');

  it.each([
    ['--config wins over everything', 'a.yaml', { KEYGATE_CONFIG: 'b.yaml' }, withLocal, { file: 'a.yaml', source: '--config' }],
    ['then $KEYGATE_CONFIG', undefined, { KEYGATE_CONFIG: 'b.yaml' }, withLocal, { file: 'b.yaml', source: '$KEYGATE_CONFIG' }],
    ['an empty $KEYGATE_CONFIG counts as unset', undefined, { KEYGATE_CONFIG: '' }, withLocal, { file: 'keygate.yaml', source: './keygate.yaml' }],
    ['then ./keygate.yaml', undefined, {}, withLocal, { file: 'keygate.yaml', source: './keygate.yaml' }],
    ['then the packaged default', undefined, {}, empty, { file: PACKAGED_CONFIG, source: 'packaged default' }],
  ] as const)('%s', (_why, flag, env, cwd, expected) => {
    expect(resolveServeConfig(flag, env, cwd)).toEqual(expected);
  });

  it('the packaged default is config/keygate.yaml beside src/ (and dist/)', () => {
    expect(PACKAGED_CONFIG).toBe(fileURLToPath(new URL('../../../config/keygate.yaml', import.meta.url)));
  });
});
