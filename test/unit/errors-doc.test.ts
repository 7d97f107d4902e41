import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ERRORS } from '../../src/errors.ts';
import { ADMIN_ERRORS } from '../../src/lifecycle/errors.ts';

/** Every code in docs/errors.md with its status, table by table. */
function documented(section: string): Map<string, number> {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const part = doc.split(/^## /m).find((s) => s.startsWith(section)) ?? '';
  return new Map([...part.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1] as string, Number(m[2])]));
}

describe('docs/errors.md', () => {
  it('lists exactly the gateway error codes with their statuses', () => {
    const code = new Map(Object.entries(ERRORS).map(([k, v]) => [k, v.status]));
    expect(documented('Gateway')).toEqual(code);
  });

  it('lists exactly the admin API error codes with their statuses', () => {
    expect(documented('Admin API')).toEqual(new Map(Object.entries(ADMIN_ERRORS)));
  });
});
