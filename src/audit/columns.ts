import { IsoClock } from '../log/json.ts';

/**
 * Event times as numbers: an ISO string that `toISOString` gives back exactly is stored as its
 * milliseconds (8 bytes in a typed array, nothing for the GC to trace); any other spelling is
 * kept as it came. Parsing reuses the last second seen, as events arrive in time order.
 */
export class IsoTimes {
  /** The last parsed second's first 20 characters (`YYYY-MM-DDTHH:mm:ss.`); none yet. */
  private prefix = '\u0000';
  private second = 0;
  private readonly clock = new IsoClock();

  /** The milliseconds `s` is the exact ISO form of, or NaN. */
  toMs(s: string): number {
    if (s.length === 24 && s.charCodeAt(23) === 90 /* Z */ && s.startsWith(this.prefix)) {
      const ms = digit(s, 20) * 100 + digit(s, 21) * 10 + digit(s, 22);
      if (ms >= 0 && ms <= 999) return this.second + ms;
    }
    const ms = Date.parse(s);
    if (!(ms >= 0) || this.clock.format(ms) !== s) return Number.NaN;
    this.second = ms - (ms % 1000);
    this.prefix = s.slice(0, 20);
    return ms;
  }

  toIso(ms: number): string {
    return this.clock.format(ms);
  }
}

function digit(s: string, i: number): number {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : -10_000;
}
