import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { TokensConfig } from '../config/types.ts';

export interface TokenClaims {
  keyId: string;
  principalId: string;
  /** Epoch ms. */
  expiresAt: number;
}

export type VerifyResult = { ok: true; claims: TokenClaims } | { ok: false; reason: 'invalid' | 'expired' };

/**
 * jose, imported with the first token signed or verified rather than with the program: most
 * gateways never configure tokens, and loading it is RSS held for nothing (issue 12). Both uses
 * are asynchronous already; after the first, `jose` is set and nothing more is awaited for it.
 */
type Jose = typeof import('jose');
let jose: Jose | null = null;
const loadJose = async (): Promise<Jose> => (jose ??= await import('jose'));

const ISSUER = 'keygate';
const ALG = 'HS256';

/**
 * Short-lived tokens are signed JWTs (HS256, jose), not opaque strings: any replica verifies one
 * without a store write per exchange, and `kid` lets signing keys rotate with no downtime
 * (add the new key as verify-only everywhere, then make it the signer, then drop the old one).
 * A token is never trusted alone: every request also resolves the key it was minted from, so
 * expiring that key or disabling its principal kills the token at once, on every replica.
 */
export class TokenSigner {
  private readonly signer: { id: string; secret: Uint8Array } | null;
  private readonly verifiers: Map<string, Uint8Array>;
  /**
   * Verified tokens by hash: jose verifies with WebCrypto (async); a repeat costs a hash + lookup.
   * Made with the first verified token: lru-cache allocates its arrays for `max` up front (≈1 MiB
   * here), and every config generation has its own signer.
   */
  private verified: LRUCache<string, TokenClaims> | null = null;

  constructor(cfg: TokensConfig) {
    const enc = new TextEncoder();
    this.verifiers = new Map(cfg.signingKeys.filter((k) => k.secret !== '').map((k) => [k.id, enc.encode(k.secret)]));
    const s = cfg.signingKeys.find((k) => !k.verifyOnly && k.secret !== '');
    this.signer = s === undefined ? null : { id: s.id, secret: enc.encode(s.secret) };
  }

  canSign(): boolean {
    return this.signer !== null;
  }

  async sign(claims: TokenClaims, now: number): Promise<string> {
    if (this.signer === null) throw new Error('no signing key configured');
    const { SignJWT } = jose ?? (await loadJose());
    return new SignJWT({ kg_key: claims.keyId })
      .setProtectedHeader({ alg: ALG, kid: this.signer.id, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(claims.principalId)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(claims.expiresAt / 1000))
      .sign(this.signer.secret);
  }

  /** Synchronous answer for a token verified before; undefined when it must be verified. */
  cached(token: string, now: number): VerifyResult | undefined {
    const claims = this.verified?.get(digest(token));
    if (claims === undefined) return undefined;
    return claims.expiresAt <= now ? { ok: false, reason: 'expired' } : { ok: true, claims };
  }

  async verify(token: string, now: number): Promise<VerifyResult> {
    const { jwtVerify, errors: joseErrors } = jose ?? (await loadJose());
    try {
      const { payload } = await jwtVerify(token, async (header) => {
        const key = header.kid === undefined ? undefined : this.verifiers.get(header.kid);
        if (key === undefined) throw new joseErrors.JWSSignatureVerificationFailed();
        return key;
      }, { issuer: ISSUER, algorithms: [ALG], currentDate: new Date(now), requiredClaims: ['exp', 'sub', 'iat'] });
      if (typeof payload['kg_key'] !== 'string' || typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return { ok: false, reason: 'invalid' };
      const claims = { keyId: payload['kg_key'], principalId: payload.sub, expiresAt: payload.exp * 1000 };
      this.verified ??= new LRUCache<string, TokenClaims>({ max: 50_000 });
      this.verified.set(digest(token), claims, { ttl: Math.max(1, claims.expiresAt - now) });
      return { ok: true, claims };
    } catch (e) {
      return { ok: false, reason: e instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
    }
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}
