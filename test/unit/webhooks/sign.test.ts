import { describe, expect, it } from 'vitest';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signatureHeader, signPayload, verifySignature } from '../../../src/webhooks/sign.ts';
import { retryDelayMs } from '../../../src/webhooks/backoff.ts';

const SECRET = 'whsec_unit_0123456789abcdef';
const BODY = '{"id":"evt_1","type":"key.created","at":"2026-12-04T00:00:00.000Z","data":{"keyId":"key_1"}}';
const NOW = 1_796_000_000_000;

/** The fenced block of `lang` in docs/webhooks.md, as a reader would copy it. */
function docSnippet(lang: string): string {
  const doc = readFileSync(new URL('../../../docs/webhooks.md', import.meta.url), 'utf8');
  const fence = '```';
  const m = new RegExp(`${fence}${lang}\\n([\\s\\S]*?)${fence}`).exec(doc);
  if (m?.[1] === undefined) throw new Error(`no ${lang} block in docs/webhooks.md`);
  return m[1];
}

describe('Keygate-Signature', () => {
  it('is t=<unix>,v1=<hmac-sha256 hex of "<t>.<body>">', () => {
    const h = signatureHeader(SECRET, BODY, NOW);
    const t = Math.floor(NOW / 1000);
    expect(h).toBe(`t=${t},v1=${signPayload(SECRET, t, BODY)}`);
    expect(signPayload(SECRET, t, BODY)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['genuine', (h: string) => verifySignature(h, BODY, SECRET, { nowMs: NOW }), { ok: true, t: Math.floor(NOW / 1000) }],
    ['tampered body', (h: string) => verifySignature(h, BODY.replace('key_1', 'key_2'), SECRET, { nowMs: NOW }), { ok: false, reason: 'mismatch' }],
    ['wrong secret', (h: string) => verifySignature(h, BODY, `${SECRET}x`, { nowMs: NOW }), { ok: false, reason: 'mismatch' }],
    ['timestamp swapped', (h: string) => verifySignature(h.replace(/^t=\d+/, `t=${Math.floor(NOW / 1000) + 1}`), BODY, SECRET, { nowMs: NOW }), { ok: false, reason: 'mismatch' }],
    ['301 s old', (h: string) => verifySignature(h, BODY, SECRET, { nowMs: NOW + 301_000 }), { ok: false, reason: 'too_old' }],
    ['300 s old', (h: string) => verifySignature(h, BODY, SECRET, { nowMs: NOW + 300_999 }), { ok: true, t: Math.floor(NOW / 1000) }],
    ['from the future', (h: string) => verifySignature(h, BODY, SECRET, { nowMs: NOW - 400_000 }), { ok: false, reason: 'in_future' }],
    ['missing', () => verifySignature(undefined, BODY, SECRET), { ok: false, reason: 'malformed' }],
    ['no v1', (h: string) => verifySignature(h.split(',')[0], BODY, SECRET, { nowMs: NOW }), { ok: false, reason: 'malformed' }],
    ['a second, rotated v1 among them', (h: string) => verifySignature(`${h.split(',')[0]},v1=${'0'.repeat(64)},${h.split(',')[1]}`, BODY, SECRET, { nowMs: NOW }), { ok: true, t: Math.floor(NOW / 1000) }],
  ])('verifySignature: %s', (_name, check, expected) => {
    expect(check(signatureHeader(SECRET, BODY, NOW))).toEqual(expected);
  });
});

describe('the verification snippets in docs/webhooks.md', () => {
  it('the js one accepts a genuine delivery and refuses tampering and an old timestamp', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-doc-js-'));
    writeFileSync(join(dir, 'verify.mjs'), docSnippet('js'));
    const { verifyKeygate } = (await import(join(dir, 'verify.mjs'))) as { verifyKeygate: (h: string, b: string, s: string, tol?: number) => boolean };
    const h = signatureHeader(SECRET, BODY, Date.now());
    expect(verifyKeygate(h, BODY, SECRET)).toBe(true);
    expect(verifyKeygate(h, BODY.replace('key_1', 'key_2'), SECRET)).toBe(false);
    expect(verifyKeygate(signatureHeader(SECRET, BODY, Date.now() - 600_000), BODY, SECRET)).toBe(false);
    expect(verifyKeygate('', BODY, SECRET)).toBe(false);
  });

  it('the python one does the same', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-doc-py-'));
    writeFileSync(join(dir, 'verify.py'), docSnippet('python'));
    const run = (header: string, body: string) => spawnSync('python3', ['-c', `import sys; sys.path.insert(0, ${JSON.stringify(dir)}); from verify import verify_keygate; print(verify_keygate(sys.argv[1], sys.argv[2].encode(), sys.argv[3]))`, header, body, SECRET], { encoding: 'utf8' });
    const h = signatureHeader(SECRET, BODY, Date.now());
    const ok = run(h, BODY);
    expect(ok.stderr).toBe('');
    expect(ok.stdout.trim()).toBe('True');
    expect(run(h, BODY.replace('key_1', 'key_2')).stdout.trim()).toBe('False');
    expect(run(signatureHeader(SECRET, BODY, Date.now() - 600_000), BODY).stdout.trim()).toBe('False');
    expect(run('garbage', BODY).stdout.trim()).toBe('False');
  });
});

describe('retryDelayMs (full jitter)', () => {
  it('grows exponentially up to the cap, never below a tenth of the base', () => {
    expect(retryDelayMs(1, 1000, 60_000, () => 0.999)).toBe(999);
    expect(retryDelayMs(4, 1000, 60_000, () => 0.999)).toBe(7992);
    expect(retryDelayMs(20, 1000, 60_000, () => 0.999)).toBe(59_940);
    expect(retryDelayMs(3, 1000, 60_000, () => 0)).toBe(100);
    const spread = new Set(Array.from({ length: 50 }, () => retryDelayMs(5, 1000, 60_000)));
    expect(spread.size).toBeGreaterThan(40); // jittered, not lock-step
  });
});
