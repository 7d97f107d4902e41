import { describe, expect, it } from 'vitest';
import { closest, didYouMean, editDistance } from '../../../src/suggest.ts';

describe('editDistance (optimal string alignment)', () => {
  it.each([
    ['routes', 'routes', 0],
    ['rotues', 'routes', 1], // one transposition, where Levenshtein counts 2
    ['principle', 'principal', 2],
    ['lst', 'list', 1],
    ['LIST', 'list', 0],
    ['', 'abc', 3],
    ['ca', 'abc', 3], // OSA, not unrestricted Damerau: no edit of a transposed pair
  ])('%s → %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});

describe('closest', () => {
  const commands = ['serve', 'check-config', 'hash-key', 'principals', 'keys', 'groups', 'audit', 'routes'];
  it.each([
    ['rotues', 'routes'],
    ['chekc-config', 'check-config'],
    ['kyes', 'keys'],
    ['principal', 'principals'],
    ['sevre', 'serve'],
  ])('%s finds %s', (typo, want) => {
    expect(closest(typo, commands)).toBe(want);
  });

  it('suggests nothing for words that are not close', () => {
    expect(closest('frobnicate', commands)).toBeUndefined();
    expect(closest('ls', ['list'])).toBeUndefined(); // 2 edits for a 2-letter word is a guess
    expect(didYouMean('zzz', commands)).toBe('');
  });

  it('renders the hint', () => {
    expect(didYouMean('--principle', ['--principal', '--status'])).toBe(' (did you mean "--principal"?)');
  });
});
