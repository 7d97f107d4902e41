import { describe, expect, it } from 'vitest';
import { encodeCursor, parsePageQuery } from '../../../src/admin/v1/pagination.ts';
import { requestedExpiry } from '../../../src/admin/v1/expiry-input.ts';
import { AdminError } from '../../../src/lifecycle/errors.ts';

const q = (s: string) => new URLSearchParams(s);
function refusal(f: () => unknown): [string, string | undefined] {
  try {
    f();
  } catch (e) {
    if (e instanceof AdminError) return [e.code, e.field];
    throw e;
  }
  throw new Error('not refused');
}

describe('parsePageQuery', () => {
  it.each([
    ['', { limit: 100 }],
    ['limit=1', { limit: 1 }],
    ['limit=1000', { limit: 1000 }],
    [`cursor=${encodeCursor('key_abc')}`, { after: 'key_abc', limit: 100 }],
    [`limit=5&cursor=${encodeCursor('cfg:ci-bot')}`, { after: 'cfg:ci-bot', limit: 5 }],
  ])('%s', (query, page) => {
    expect(parsePageQuery(q(query))).toEqual(page);
  });

  it.each([
    ['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=-1', 'limit'], ['limit=1e2', 'limit'], ['limit=', 'limit'], ['limit=01000x', 'limit'],
    ['cursor=', 'cursor'], ['cursor=a+b', 'cursor'], ['cursor=a%3Db', 'cursor'], ['cursor=a', 'cursor'],
  ])('%s is 400 invalid_input on %s', (query, field) => {
    expect(refusal(() => parsePageQuery(q(query)))).toEqual(['invalid_input', field]);
  });

  it('a cursor round-trips any id, including non-ASCII', () => {
    for (const id of ['p_0000', 'cfg:ñame', 'k'.repeat(300)]) expect(parsePageQuery(q(`cursor=${encodeCursor(id)}`)).after).toBe(id);
  });
});

describe('requestedExpiry', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  it('expiresIn from now, expiresAt as given, null to clear, nothing to keep', () => {
    expect(requestedExpiry({ expiresIn: '30d' }, now)).toEqual(new Date('2030-01-31T00:00:00Z'));
    expect(requestedExpiry({ expiresIn: 2 }, now)).toEqual(new Date('2030-01-03T00:00:00Z'));
    expect(requestedExpiry({ expiresAt: '2030-02-01T01:00:00+01:00' }, now)).toEqual(new Date('2030-02-01T00:00:00Z'));
    expect(requestedExpiry({ expiresAt: null }, now)).toBeNull();
    expect(requestedExpiry({}, now)).toBeUndefined();
  });

  it.each([
    [{ expiresIn: '1d', expiresAt: '2030-02-01T00:00:00Z' }, 'expiresAt'],
    [{ expiresAt: '2030-02-01' }, 'expiresAt'], [{ expiresAt: '2030-02-30T00:00:00Z' }, 'expiresAt'], [{ expiresAt: 1 }, 'expiresAt'],
    [{ expiresIn: '0s' }, 'expiresIn'], [{ expiresIn: '1w' }, 'expiresIn'],
  ])('%j is 400 on %s', (body, field) => {
    expect(refusal(() => requestedExpiry(body, now))).toEqual(['invalid_input', field]);
  });
});
