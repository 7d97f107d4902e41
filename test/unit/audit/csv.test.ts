import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CSV_COLUMNS, csvCell, toCsv } from '../../../src/audit/csv.ts';
import type { StoredAuditEvent } from '../../../src/audit/event.ts';

function event(over: Partial<StoredAuditEvent> = {}): StoredAuditEvent {
  return {
    id: '1', time: '2026-05-01T12:00:00.000Z', kind: 'request', requestId: 'r1', principalId: 'p_1', principalName: 'alice', keyId: 'key_1',
    credential: 'bearer', route: 'app', method: 'GET', path: '/api/x', status: 200, decision: 'allowed', reason: null, latencyMs: 1.25,
    client: '127.0.0.1', action: null, target: null, details: null, ...over,
  };
}

/** Python's csv module: an independent, standard RFC 4180 reader. */
function parseWithPython(text: string): string[][] {
  const r = spawnSync('python3', ['-c', 'import csv,sys,json; print(json.dumps(list(csv.reader(sys.stdin, strict=True))))'], { input: text, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as string[][];
}

describe('CSV cells (RFC 4180)', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    ['', ''],
  ])('%j → %j', (value, cell) => expect(csvCell(value)).toBe(cell));

  it('null and undefined are empty; numbers plain; objects as JSON', () => {
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(-1.5)).toBe('-1.5');
    expect(csvCell({ fields: ['roles', 'org'] })).toBe('"{""fields"":[""roles"",""org""]}"');
  });
});

describe('CSV formula injection', () => {
  it('cells starting with = + - @ tab or CR are made text with a leading quote', () => {
    const values = ['=1+1', '+1', '-2', '@SUM(A1)', '\tx', '\rx', '=HYPERLINK("http://evil","x")'];
    const parsed = parseWithPython(`${values.map(csvCell).join(',')}\r\n`)[0];
    expect(parsed).toEqual(values.map((v) => `'${v}`));
  });

  it('a value with = inside (not first) is left alone', () => {
    expect(csvCell('a=b')).toBe('a=b');
  });
});

describe('toCsv', () => {
  it('a header and one CRLF-terminated row per event, that a standard reader reads back exactly', () => {
    const hostile = event({ path: '/api/a,b/"q"', principalName: '=cmd|calc', reason: 'line\nbreak', details: { name: 'x, "y"' }, kind: 'admin' });
    const text = toCsv([event(), hostile]);
    expect(text.endsWith('\r\n')).toBe(true);
    const rows = parseWithPython(text);
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(3);
    const col = (row: string[] | undefined, name: (typeof CSV_COLUMNS)[number]) => row?.[CSV_COLUMNS.indexOf(name)];
    expect(col(rows[1], 'status')).toBe('200');
    expect(col(rows[1], 'reason')).toBe('');
    expect(col(rows[2], 'path')).toBe('/api/a,b/"q"');
    expect(col(rows[2], 'principalName')).toBe("'=cmd|calc");
    expect(col(rows[2], 'reason')).toBe('line\nbreak');
    expect(JSON.parse(col(rows[2], 'details') ?? '')).toEqual({ name: 'x, "y"' });
  });

  it('without a header for continuation pages', () => {
    expect(toCsv([event()], false).split('\r\n')[0]).toMatch(/^2026-05-01T12:00:00.000Z,1,request,/);
  });
});
