/**
 * The key store contract. Secrets never reach it: keys are found by the SHA-256 (or peppered
 * HMAC) of their secret, computed at the edge by `credentials/`. The embedded store implements
 * this now; the Redis store (shared by replicas) implements the same contract.
 */

export type PrincipalKind = 'user' | 'service';

export interface PrincipalRecord {
  id: string;
  /** Unique, forwarded upstream as the identity. */
  name: string;
  kind: PrincipalKind;
  roles: string[];
  groups: string[];
  org?: string;
  disabled: boolean;
  createdAt: Date;
  metadata: Record<string, string>;
  /** `config`: declared in the YAML file, replaced on every reload; `api`: created at run time. */
  source: 'config' | 'api';
}

export interface KeyRecord {
  id: string;
  principalId: string;
  name?: string;
  purpose?: string;
  /** Lower-case hex of the secret's hash. The only form in which a secret is ever stored. */
  hash: string;
  createdAt: Date;
  expiresAt?: Date;
  revokedAt?: Date;
  /** When set, narrows the principal's actions for requests made with this key. */
  scopes?: string[];
  type: 'api_key' | 'key_pair';
}

export interface KeyWithPrincipal {
  key: KeyRecord;
  principal: PrincipalRecord;
}

export interface KeyStore {
  readonly kind: 'memory' | 'redis';
  /** The key whose secret hashes to `hash`, with its principal; null when there is none. */
  findByHash(hash: string): Promise<KeyWithPrincipal | null>;
  /** Replace every `source: config` principal and key with the declared set (config load/reload). */
  syncDeclarative(principals: DeclaredPrincipalInput[]): Promise<void>;
  /** Whether lookups can currently be answered (for /readyz). */
  isReady(): boolean;
  close(): Promise<void>;
}

/** What the config layer hands the store for a declared principal (hashes only). */
export interface DeclaredPrincipalInput {
  name: string;
  kind: PrincipalKind;
  roles: string[];
  org?: string;
  disabled: boolean;
  keys: { id: string; hash: string; name?: string; expiresAt?: Date }[];
}
