/**
 * Checks on a path's text after its one percent-decoding, for the spellings that a lenient
 * upstream reads as another path than keygate did (docs/security.md, "Paths"; issue 10 item 3).
 * keygate decodes once; what is left must mean the same to an upstream that decodes again,
 * applies NFKC, or maps Unicode to a legacy code page.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * `%` followed by an escape after one decoding: `%252e` is `%2e` here and `.` to an upstream that
 * decodes twice (many frameworks do, and so does a proxy chain in which each hop decodes once).
 * Any escape counts, not only `.`, `/` and `\`: `%2561dmin` is `admin` after the second decode and
 * would dodge a `/admin/*` route as surely. `%uXXXX` is IIS's own escape.
 */
const STILL_ENCODED = /%(?:[0-9a-f]{2}|u[0-9a-f]{4})/i;

/**
 * Look-alikes that NFKC leaves alone but Windows' "best fit" conversion to a legacy code page
 * (IIS, and any ANSI API behind it) turns into `/`, `\` or `.` — the WorstFit class
 * (CVE-2024-4577): U+2215 DIVISION SLASH, U+2044 FRACTION SLASH, U+2216 SET MINUS, U+29F5 REVERSE
 * SOLIDUS OPERATOR, U+29F8 BIG SOLIDUS, U+29F9 BIG REVERSE SOLIDUS; U+00A5 YEN and U+20A9 WON are
 * the byte 0x5C (the path separator) in code pages 932 and 949; U+3002 IDEOGRAPHIC FULL STOP is
 * `.` to IDNA mappings, which some URL libraries apply to the whole URL. Everything that NFKC maps
 * (U+FF0E, U+FF0F, U+2024, U+FE68, …) is refused by the NFKC check instead.
 */
const LOOKALIKES = new Set([0x2215, 0x2044, 0x2216, 0x29f5, 0x29f8, 0x29f9, 0x00a5, 0x20a9, 0x3002]);

/** Why the decoded path is refused, or null when it means the same to every upstream we model. */
export function decodedPathProblem(bytes: Uint8Array, nonAscii: boolean): string | null {
  let text: string;
  try {
    // fatal: overlong forms (%c0%ae), surrogates, lone continuation bytes, truncated sequences
    // and code points above U+10FFFF are refused, not replaced by U+FFFD or decoded leniently.
    text = utf8.decode(bytes);
  } catch {
    return 'invalid UTF-8 in path';
  }
  if (STILL_ENCODED.test(text)) return 'path is percent-encoded more than once';
  if (!nonAscii) return null;
  // A path that NFKC changes is read differently by an upstream that normalizes (fullwidth
  // `．．／`, `ａｄｍｉｎ`, ligatures, decomposed accents): only NFKC-stable text is accepted.
  if (text.normalize('NFKC') !== text) return 'path is not in Unicode normalization form NFKC';
  for (const ch of text) {
    if (LOOKALIKES.has(ch.codePointAt(0) as number)) return 'look-alike of "/", "\\" or "." in path';
  }
  return null;
}
