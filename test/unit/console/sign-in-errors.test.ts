/** The console sign-in codes (issue 15): stable, documented one for one, and safe to put in a URL. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { SIGN_IN_ERRORS, isSignInErrorCode, signInFailedLocation } from '../../../src/admin/console/sign-in-errors.ts';

function documented(): string[] {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const part = doc.split(/^## /m).find((s) => s.startsWith('Console sign-in')) ?? '';
  return [...part.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1] as string);
}

describe('console sign-in codes', () => {
  it('docs/errors.md lists exactly the codes the console knows', () => {
    expect(documented().sort()).toEqual(Object.keys(SIGN_IN_ERRORS).sort());
  });

  it('each is a URL-safe word with a plain-text message', () => {
    for (const [code, message] of Object.entries(SIGN_IN_ERRORS)) {
      expect(code).toMatch(/^oidc_[a-z_]+$/);
      expect(signInFailedLocation(code as keyof typeof SIGN_IN_ERRORS)).toBe(`/console/#/sign-in?error=${code}`);
      expect(message).not.toMatch(/[<>]/);
      expect(message.length).toBeGreaterThan(20);
    }
  });

  it('only known codes are codes (a crafted link picks no message)', () => {
    expect(isSignInErrorCode('oidc_denied')).toBe(true);
    for (const s of ['toString', '__proto__', 'constructor', 'oidc_DENIED', '<img>', '']) expect(isSignInErrorCode(s)).toBe(false);
  });
});
