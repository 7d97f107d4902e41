import type { DeclaredPrincipalInput, KeyRecord, KeyStore, KeyWithPrincipal, PrincipalRecord } from './types.ts';

/**
 * The embedded store: everything in process memory, nothing persisted. It is the default when
 * no Redis URL is configured and holds the principals declared in the YAML file.
 */
export class MemoryKeyStore implements KeyStore {
  readonly kind = 'memory' as const;
  private readonly principals = new Map<string, PrincipalRecord>();
  private readonly keysByHash = new Map<string, KeyRecord>();

  async findByHash(hash: string): Promise<KeyWithPrincipal | null> {
    return this.findByHashSync(hash);
  }

  /** Synchronous lookup: the embedded store never waits, so the resolver can skip a microtask. */
  findByHashSync(hash: string): KeyWithPrincipal | null {
    const key = this.keysByHash.get(hash);
    if (key === undefined) return null;
    const principal = this.principals.get(key.principalId);
    return principal === undefined ? null : { key, principal };
  }

  async syncDeclarative(declared: DeclaredPrincipalInput[]): Promise<void> {
    for (const [id, p] of this.principals) if (p.source === 'config') this.principals.delete(id);
    for (const [hash, k] of this.keysByHash) if (!this.principals.has(k.principalId)) this.keysByHash.delete(hash);
    const now = new Date();
    for (const d of declared) {
      // Declared principals get a stable id derived from their name, so key ids and audit
      // entries keep pointing at the same principal across reloads.
      const id = `cfg:${d.name}`;
      const principal: PrincipalRecord = {
        id, name: d.name, kind: d.kind, roles: [...d.roles], groups: [], disabled: d.disabled,
        createdAt: now, metadata: {}, source: 'config',
        ...(d.org === undefined ? {} : { org: d.org }),
      };
      this.principals.set(id, principal);
      for (const k of d.keys) {
        this.keysByHash.set(stripAlgorithm(k.hash), {
          id: k.id, principalId: id, hash: stripAlgorithm(k.hash), createdAt: now, type: 'api_key',
          ...(k.name === undefined ? {} : { name: k.name }),
          ...(k.expiresAt === undefined ? {} : { expiresAt: k.expiresAt }),
        });
      }
    }
  }

  isReady(): boolean {
    return true;
  }

  async close(): Promise<void> {}
}

/** `sha256:<hex>` → `<hex>`: the store is keyed by the bare digest. */
export function stripAlgorithm(hash: string): string {
  const i = hash.indexOf(':');
  return i === -1 ? hash : hash.slice(i + 1);
}
