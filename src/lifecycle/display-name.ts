/**
 * A principal's display name (a person's full name, a service's description) is free Unicode
 * text shown on screens, so it is refused only what would garble or spoof them: C0/C1 control
 * characters (a newline in a table cell, an escape sequence in a terminal) and the bidirectional
 * overrides and isolates that reorder the text around them (CVE-2021-42574, "Trojan Source").
 * Escaping for HTML is the screen's job, not a reason to refuse `<`: the console renders it as
 * text. It never becomes an identity and is never forwarded upstream (that is `name`).
 */
export const DISPLAY_NAME_MAX = 200;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point (they are refused)
const REFUSED = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** Why `value` cannot be a display name, or null when it can. Length is in code points. */
export function displayNameProblem(value: string): string | null {
  if (value.trim() === '') return 'must not be empty or only spaces (send null to remove it)';
  if ([...value].length > DISPLAY_NAME_MAX) return `at most ${DISPLAY_NAME_MAX} characters`;
  const bad = REFUSED.exec(value);
  if (bad !== null) return `control and bidirectional-override characters are not allowed (U+${(bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')} at position ${[...value.slice(0, bad.index)].length + 1})`;
  return null;
}
