/**
 * docs/configuration.md is generated from config/keygate.schema.json by
 * scripts/gen-config-doc.ts. Regenerating it in memory must give the committed file byte for
 * byte: a schema change without `node scripts/gen-config-doc.ts` fails here.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DOC_FILE, readSchema, renderConfigDoc, type Schema } from '../../scripts/gen-config-doc.ts';

describe('docs/configuration.md', () => {
  it('is what scripts/gen-config-doc.ts generates from the schema (run it after a schema change)', () => {
    expect(readFileSync(DOC_FILE, 'utf8')).toBe(renderConfigDoc(readSchema()));
  });

  it('has a row for every field of the schema, with its default', () => {
    const doc = readFileSync(DOC_FILE, 'utf8');
    const walk = (s: Schema, path: string): void => {
      for (const [k, v] of Object.entries(s.properties ?? {})) {
        const p = path === '' ? k : `${path}.${k}`;
        if (path !== '') {
          const row = doc.split('\n').find((l) => l.startsWith(`| \`${p}\` |`));
          expect(row, p).toBeDefined();
          if (v.default !== undefined && !(typeof v.default === 'object' && v.default !== null && !Array.isArray(v.default))) {
            expect(row, `${p} default`).toContain(`\`${JSON.stringify(v.default)}\``);
          }
        }
        walk(v, p);
        if (v.items !== undefined) walk(v.items, `${p}[]`);
        if (typeof v.additionalProperties === 'object') walk(v.additionalProperties, `${p}.<name>`);
      }
    };
    walk(readSchema(), '');
  });
});
