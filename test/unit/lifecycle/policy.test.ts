import { describe, expect, it } from 'vitest';
import { checkExpiryChange, lifetimeForNewKey, lifetimeForRotation, NO_POLICY, type LifetimePolicy } from '../../../src/lifecycle/policy.ts';
import { AdminError } from '../../../src/lifecycle/errors.ts';

const D = 86_400_000;
const strict: LifetimePolicy = { maxLifetimeMs: 30 * D, defaultLifetimeMs: 7 * D, requireExpiry: false };
const required: LifetimePolicy = { maxLifetimeMs: null, defaultLifetimeMs: null, requireExpiry: true };
const capOnly: LifetimePolicy = { maxLifetimeMs: 30 * D, defaultLifetimeMs: null, requireExpiry: false };

function code(f: () => unknown): string | number | undefined {
  try {
    const v = f();
    return v as number | undefined;
  } catch (e) {
    if (e instanceof AdminError) return `${e.code}:${e.field ?? ''}`;
    throw e;
  }
}

describe('lifetimeForNewKey', () => {
  it.each([
    ['no policy, none asked', NO_POLICY, undefined, undefined],
    ['no policy, 400d asked', NO_POLICY, 400 * D, 400 * D],
    ['default applies', strict, undefined, 7 * D],
    ['within max', strict, 30 * D, 30 * D],
    ['beyond max', strict, 30 * D + 1, 'key_lifetime_exceeded:expiresIn'],
    ['requireExpiry without default', required, undefined, 'key_expiry_required:expiresIn'],
    ['requireExpiry, asked', required, D, D],
    ['maxLifetime implies an expiry', capOnly, undefined, 'key_expiry_required:expiresIn'],
  ])('%s', (_n, policy, asked, expected) => {
    expect(code(() => lifetimeForNewKey(asked, policy))).toEqual(expected);
  });

  it('names the limit in the message', () => {
    expect(() => lifetimeForNewKey(45 * D, strict)).toThrow(/45d is longer than keys.maxLifetime \(30d\)/);
  });
});

describe('lifetimeForRotation', () => {
  const created = new Date('2026-01-01T00:00:00Z');
  const old = (lifeMs: number | null) => ({ createdAt: created, ...(lifeMs === null ? {} : { expiresAt: new Date(created.getTime() + lifeMs) }) });
  it.each([
    ['keeps the old lifetime', strict, old(20 * D), undefined, 20 * D],
    ['clamps an old 1-year key to maxLifetime', strict, old(365 * D), undefined, 30 * D],
    ['a never-expiring old key gets the default', strict, old(null), undefined, 7 * D],
    ['a never-expiring old key under maxLifetime only gets maxLifetime', capOnly, old(null), undefined, 30 * D],
    ['a never-expiring old key where expiry is required and nothing gives one', required, old(null), undefined, 'key_expiry_required:expiresIn'],
    ['no policy, never-expiring stays so', NO_POLICY, old(null), undefined, undefined],
    ['asked lifetime is checked like a new key', strict, old(20 * D), 31 * D, 'key_lifetime_exceeded:expiresIn'],
    ['asked lifetime within policy', strict, old(20 * D), 2 * D, 2 * D],
  ])('%s', (_n, policy, k, asked, expected) => {
    expect(code(() => lifetimeForRotation(k, asked, policy))).toEqual(expected);
  });
});

describe('checkExpiryChange (for PATCH /v1/keys/{id})', () => {
  const key = { createdAt: new Date('2026-01-01T00:00:00Z') };
  it.each([
    ['within createdAt + max', strict, new Date('2026-01-31T00:00:00Z'), undefined],
    ['beyond createdAt + max', strict, new Date('2026-01-31T00:00:01Z'), 'key_lifetime_exceeded:expiresAt'],
    ['in the past (expiring it)', strict, new Date('2025-12-01T00:00:00Z'), undefined],
    ['cleared where keys must expire', strict, null, 'key_expiry_required:expiresAt'],
    ['cleared without policy', NO_POLICY, null, undefined],
  ])('%s', (_n, policy, at, expected) => {
    expect(code(() => checkExpiryChange(key, at, policy))).toEqual(expected);
  });
});
