import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header every delivery carries (Stripe's scheme: docs/webhooks.md, "Verifying a delivery"). */
export const SIGNATURE_HEADER = 'keygate-signature';

/** Receivers should refuse signatures older than this (replay window). @default 300 s */
export const DEFAULT_TOLERANCE_S = 300;

/** Hex HMAC-SHA256 of `<t>.<body>`: the timestamp is signed with the body, so neither can be swapped. */
export function signPayload(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
}

/** `t=<unix seconds>,v1=<hex>`, signed at each attempt (a retry carries a fresh timestamp). */
export function signatureHeader(secret: string, body: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${signPayload(secret, t, body)}`;
}

export type VerifyResult = { ok: true; t: number } | { ok: false; reason: 'malformed' | 'mismatch' | 'too_old' | 'in_future' };

/**
 * The reference verifier (the docs show the same steps): parse `t` and every `v1`, recompute
 * over the raw body bytes as received, compare in constant time, then refuse a `t` outside the
 * tolerance either way so a captured delivery cannot be replayed later.
 */
export function verifySignature(header: string | undefined, body: string, secret: string, opts: { nowMs?: number; toleranceS?: number } = {}): VerifyResult {
  if (header === undefined) return { ok: false, reason: 'malformed' };
  let t: number | null = null;
  const sigs: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't' && /^[0-9]{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/.test(v)) sigs.push(v);
  }
  if (t === null || sigs.length === 0) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(signPayload(secret, t, body), 'hex');
  if (!sigs.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected))) return { ok: false, reason: 'mismatch' };
  const age = Math.floor((opts.nowMs ?? Date.now()) / 1000) - t;
  const tolerance = opts.toleranceS ?? DEFAULT_TOLERANCE_S;
  if (age > tolerance) return { ok: false, reason: 'too_old' };
  if (age < -tolerance) return { ok: false, reason: 'in_future' };
  return { ok: true, t };
}
