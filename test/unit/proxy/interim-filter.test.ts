import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InterimFilter, MAX_INTERIM_HEAD } from '../../../src/proxy/interim-filter.ts';

/** Feeds chunks through a fresh filter; what the parser would get, concatenated. */
function through(chunks: string[], filter = new InterimFilter()): string {
  return chunks.map((c) => filter.push(Buffer.from(c, 'latin1'))?.toString('latin1') ?? '').join('');
}

const FINAL = 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello';

describe('InterimFilter', () => {
  it.each([
    ['100 Continue', 'HTTP/1.1 100 Continue\r\n\r\n'],
    ['two 100s', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n'],
    ['103 with headers', 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nLink: </b.js>; rel=preload\r\n\r\n'],
    ['102', 'HTTP/1.1 102 Processing\r\n\r\n'],
    ['HTTP/1.0 100', 'HTTP/1.0 100 Continue\r\n\r\n'],
    ['a status line without reason phrase', 'HTTP/1.1 100\r\n\r\n'],
    ['an unassigned 1xx', 'HTTP/1.1 199 Whatever\r\nx: y\r\n\r\n'],
  ])('drops %s before the final response', (_name, interim) => {
    expect(through([interim + FINAL])).toBe(FINAL);
  });

  it.each([
    ['101 (an upgrade answer, for undici to judge)', 'HTTP/1.1 101 Switching Protocols\r\n\r\n'],
    ['a four-digit status', 'HTTP/1.1 1000 Odd\r\n\r\n'],
    ['a bare-LF interim head (framing undici might read differently)', 'HTTP/1.1 100 Continue\n\n'],
    ['HTTP/2.0', 'HTTP/2.0 100 Continue\r\n\r\n'],
    ['garbage', 'hello'],
  ])('leaves %s to the parser, untouched', (_name, bytes) => {
    expect(through([bytes + FINAL])).toBe(bytes + FINAL);
  });

  it('passes everything after the final status line, even interim-looking bytes', () => {
    const f = new InterimFilter();
    expect(through([FINAL, 'HTTP/1.1 100 Continue\r\n\r\n'], f)).toBe(`${FINAL}HTTP/1.1 100 Continue\r\n\r\n`);
  });

  it('after reset (a new request), drops the next response\'s interim heads again', () => {
    const f = new InterimFilter();
    expect(through(['HTTP/1.1 100 Continue\r\n\r\n', FINAL], f)).toBe(FINAL);
    f.reset();
    expect(through(['HTTP/1.1 103 Early Hints\r\n\r\n', FINAL], f)).toBe(FINAL);
    expect(f.dropped).toBe(2);
  });

  it('an interim head larger than the limit goes to the parser (which refuses it)', () => {
    const big = `HTTP/1.1 103 Early Hints\r\nLink: ${'x'.repeat(MAX_INTERIM_HEAD)}\r\n\r\n`;
    const out = through([big.slice(0, MAX_INTERIM_HEAD / 2), big.slice(MAX_INTERIM_HEAD / 2), FINAL]);
    expect(out).toBe(big + FINAL);
  });

  it('property: however the bytes are split, the parser gets exactly the final response', () => {
    const interim = fc.constantFrom(
      'HTTP/1.1 100 Continue\r\n\r\n',
      'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n',
      'HTTP/1.1 102 Processing\r\n\r\n',
      'HTTP/1.1 100\r\n\r\n',
    );
    const finals = fc.constantFrom(FINAL, 'HTTP/1.1 204 No Content\r\n\r\n', `HTTP/1.1 200 OK\r\ncontent-length: 26\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n`);
    fc.assert(
      fc.property(fc.array(interim, { maxLength: 4 }), finals, fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 12 }), (heads, fin, cuts) => {
        const bytes = heads.join('') + fin;
        const chunks: string[] = [];
        let at = 0;
        for (const c of cuts) {
          if (at >= bytes.length) break;
          chunks.push(bytes.slice(at, at + c));
          at += c;
        }
        if (at < bytes.length) chunks.push(bytes.slice(at));
        const f = new InterimFilter();
        expect(through(chunks, f)).toBe(fin);
        expect(f.dropped).toBe(heads.length);
      }),
    );
  });
});
