import type { StoredAuditEvent } from './event.ts';

/** The CSV columns, in order. Fixed, so exports from different days line up. */
export const CSV_COLUMNS = [
  'time', 'id', 'kind', 'requestId', 'decision', 'reason', 'status', 'method', 'route', 'path',
  'principalId', 'principalName', 'keyId', 'credential', 'client', 'latencyMs', 'action', 'target', 'details',
] as const satisfies readonly (keyof StoredAuditEvent)[];

/**
 * Spreadsheets run a cell starting with one of these as a formula (CSV injection; OWASP's list,
 * tab and CR included); such cells get a leading `'` so they are shown as text.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
/** RFC 4180 §2.6: fields with a comma, a double quote or a line break are quoted. */
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell: null/undefined → empty; objects as JSON; RFC 4180 quoting; formula-safe. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  let s = typeof value === 'string' ? value : JSON.stringify(value);
  if (FORMULA_START.test(s)) s = `'${s}`;
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 records end with CRLF. */
export function csvRow(values: readonly unknown[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

export function csvHeader(): string {
  return csvRow(CSV_COLUMNS);
}

export function toCsv(events: readonly StoredAuditEvent[], header = true): string {
  let out = header ? csvHeader() : '';
  for (const e of events) out += csvRow(CSV_COLUMNS.map((c) => e[c]));
  return out;
}
