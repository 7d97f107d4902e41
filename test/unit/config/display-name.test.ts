/** A declared principal's displayName (issue 15): loaded as given, refused with its path when it has a control character. */
import { describe, expect, it } from 'vitest';
import { bad, good, MINIMAL } from './support.ts';

const withPrincipal = (displayName: string) => [...MINIMAL, 'principals:', `  - { name: ci-bot, kind: service, displayName: ${JSON.stringify(displayName)} }`].join('\n');

describe('principals[].displayName', () => {
  it('is optional Unicode text, kept as written', () => {
    expect(good(withPrincipal('<img src=x onerror=alert(1)> — Zoë 🚀')).principals[0]?.displayName).toBe('<img src=x onerror=alert(1)> — Zoë 🚀');
    expect(good([...MINIMAL, 'principals:', '  - { name: ci-bot, kind: service }'].join('\n')).principals[0]).not.toHaveProperty('displayName');
  });

  it('refuses control and bidi-override characters, and more than 200 characters, at its path', () => {
    for (const v of ['two\nlines', 'evil\u202etxt', 'x'.repeat(201), '', '   ']) {
      expect(bad(withPrincipal(v)).map((p) => p.path), JSON.stringify(v)).toContain('/principals/0/displayName');
    }
  });
});
