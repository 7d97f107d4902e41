import { MAX_TIMER_MS, parseDuration } from './duration.ts';

/**
 * Readers for the parsed, defaulted YAML data. The build step runs even when the schema has
 * already refused something (so every problem is reported at once), so these never throw on a
 * wrong type: they return an empty value, and the schema's own report explains the field.
 */

export type Obj = Record<string, unknown>;
/** Records a problem at a JSON-pointer path (`/routes/2/upstream`). */
export type Report = (path: string, message: string) => void;

export const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
export const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
export const bool = (v: unknown): boolean => v === true;

/** A value that may be written as one item or a list (`action: x` or `action: [x, y]`). */
export function list<T>(v: unknown): T[] {
  if (Array.isArray(v)) return v as T[];
  return v === undefined || v === null ? [] : [v as T];
}

/** A string or list of strings; items of another type (already refused by the schema) become "". */
export const strings = (v: unknown): string[] => list<unknown>(v).map(str);

/** A duration field in ms; 0 (and a problem) when it does not parse or no timer could wait that long. */
export function duration(v: unknown, path: string, report: Report): number {
  const ms = parseDuration(str(v));
  if (ms === null) {
    report(path, 'must be a duration like 500ms, 30s, 5m, 1h or 90d');
    return 0;
  }
  if (ms > MAX_TIMER_MS) report(path, 'too long: at most 24d (Node.js timers cannot wait longer)');
  return ms;
}

/** Names defined in a map, for "not defined (defined: …)" messages. */
export const defined = (names: Iterable<string>): string => [...names].join(', ') || 'none';
