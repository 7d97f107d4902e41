/**
 * Display names (issue 15): free Unicode text for screens; only what garbles or spoofs a screen
 * is refused, each refusal naming the character and where it is.
 */
import { describe, expect, it } from 'vitest';
import { DISPLAY_NAME_MAX, displayNameProblem } from '../../../src/lifecycle/display-name.ts';

describe('displayNameProblem', () => {
  it.each([
    ['Ada Lovelace'], ['<img src=x onerror=alert(1)>'], ['Zoë Ångström-Ñúñez'], ['李小龍'], ['محمد'], ['🚀 deploy bot'],
    ['a'.repeat(DISPLAY_NAME_MAX)], ['🚀'.repeat(DISPLAY_NAME_MAX)], ["O'Brien & \"sons\" \\ /"],
  ])('accepts %j', (v) => {
    expect(displayNameProblem(v)).toBeNull();
  });

  it.each([
    ['line\nbreak', 'U+000A at position 5'], ['tab\there', 'U+0009 at position 4'], ['nul\u0000', 'U+0000 at position 4'],
    ['esc \u001b[31m', 'U+001B at position 5'], ['del\u007f', 'U+007F'], ['c1\u0085', 'U+0085'], ['ls\u2028', 'U+2028'],
    ['admin\u202egnp.exe', 'U+202E at position 6'], ['iso\u2066x', 'U+2066'], ['🚀\n', 'U+000A at position 2'],
  ])('refuses %j naming the character', (v, why) => {
    expect(displayNameProblem(v)).toContain(why);
  });

  it('refuses empty and blank text, and more than the maximum in code points', () => {
    expect(displayNameProblem('')).toContain('empty');
    expect(displayNameProblem('   ')).toContain('empty');
    expect(displayNameProblem('a'.repeat(DISPLAY_NAME_MAX + 1))).toContain(`at most ${DISPLAY_NAME_MAX}`);
    expect(displayNameProblem('🚀'.repeat(DISPLAY_NAME_MAX + 1))).toContain(`at most ${DISPLAY_NAME_MAX}`);
  });
});
