/**
 * The pieces of a JSON log line, formatted exactly as pino formats them, for lines built
 * without pino (log/access.ts). A test pins the equality (test/unit/log/access-line.test.ts).
 */

const nodeMajor = Number(process.versions.node.split('.')[0]);

/**
 * pino's string quoting: under 101 characters with no control character only `"` and `\` are
 * escaped (lone surrogates are left alone, unlike JSON.stringify); anything else, and every
 * string on Node ≥ 25 (where pino switched), goes to JSON.stringify.
 */
function pinoQuote(str: string): string {
  const l = str.length;
  if (l > 100) return JSON.stringify(str);
  let result = '';
  let last = 0;
  let found = false;
  let point = 255;
  for (let i = 0; i < l && point >= 32; i++) {
    point = str.charCodeAt(i);
    if (point === 34 || point === 92) {
      result += `${str.slice(last, i)}\\`;
      last = i;
      found = true;
    }
  }
  if (!found) result = str;
  else result += str.slice(last);
  return point < 32 ? JSON.stringify(str) : `"${result}"`;
}
export const quote: (s: string) => string = nodeMajor >= 25 ? (s) => JSON.stringify(s) : pinoQuote;

/** A string, or `null` for null (the access line's optional fields). */
export function quoteOrNull(s: string | null): string {
  return s === null ? 'null' : quote(s);
}

/**
 * `String(ns / 1e6)` for a whole number of nanoseconds, without the float-to-shortest-decimal
 * conversion that was 38% of the access line's cost (issue 12). Below 1e15 ns the quotient has
 * at most 15 significant digits, so the exact decimal is the only decimal of that length that
 * rounds to the double and is what `String` prints; above (11 days) it falls back.
 */
export function nanosAsMillis(ns: number): string {
  if (!(ns >= 0 && ns < 1e15) || !Number.isInteger(ns)) return String(ns / 1e6);
  let frac = ns % 1e6;
  const whole = (ns - frac) / 1e6;
  if (frac === 0) return String(whole);
  let digits = 6;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  const f = String(frac);
  return `${whole}.${ZEROS[digits - f.length]}${f}`;
}
const ZEROS = ['', '0', '00', '000', '0000', '00000'];

const MS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * `new Date(ms).toISOString()`, reusing the formatted second: lines within one second differ
 * only in their milliseconds. Per instance, so nothing is shared between loggers.
 */
export class IsoClock {
  private second = Number.NaN;
  private prefix = '';

  format(ms: number): string {
    const msPart = ms % 1000;
    const second = ms - msPart;
    if (second !== this.second) {
      if (!(ms >= 0 && ms < 253402300800000)) return new Date(ms).toISOString(); // outside years 1970–9999
      this.second = second;
      this.prefix = new Date(second).toISOString().slice(0, 20);
    }
    return `${this.prefix}${MS[msPart]}Z`;
  }
}
