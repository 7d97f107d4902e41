/**
 * "Did you mean …" for the CLI's commands and flags and the config's field names.
 *
 * The distance is optimal string alignment (Levenshtein plus adjacent transposition, each edit
 * costing 1), case-insensitive: `rotues` is one edit from `routes`, where plain Levenshtein counts
 * two and would have to accept so much that short words match anything.
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  // d[i][j]: distance between the first i chars of s and the first j of t.
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= s.length; i++) {
    const row = d[i] as number[]; // i <= s.length
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(s.length, t.length);
}

/**
 * The closest candidate, or undefined when none is close: at most 1 edit for words up to 4
 * characters, 2 beyond (so `lst` finds `list` but `rm` does not find `id`). Ties go to the
 * candidate listed first.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length <= 4 ? 1 : 2;
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d <= limit && (best === undefined || d < best.d)) best = { c, d };
  }
  return best?.c;
}

/** ` (did you mean "x"?)`, or "" when nothing is close. */
export function didYouMean(word: string, candidates: readonly string[], quote = '"'): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : ` (did you mean ${quote}${c}${quote}?)`;
}
