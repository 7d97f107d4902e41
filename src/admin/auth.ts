import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { hashSecret } from '../credentials/hash.ts';
import { AdminError } from '../lifecycle/errors.ts';
import type { Actor } from '../lifecycle/service.ts';
import type { KeyResolver } from '../keystore/resolve.ts';
import type { Authorizer } from '../authz/authorize.ts';

export const ADMIN_ACTION = 'keygate:admin';

export interface AdminAuthDeps {
  /** The configured admin token ("" disables token auth). */
  token: () => string;
  /** Secret → store key, as for proxied requests (SHA-256, or HMAC with the pepper). */
  hasher: () => (secret: string) => string;
  resolver: KeyResolver;
  authorizer: () => Authorizer;
}

/**
 * Admin callers present either the admin token or a keygate key whose principal holds
 * `keygate:admin`. Token comparison is over SHA-256 digests with timingSafeEqual, so neither
 * the content nor the length of the token leaks through timing.
 */
function client(req: IncomingMessage): { client?: string } {
  const a = req.socket.remoteAddress;
  return a === undefined ? {} : { client: a };
}

export function createAdminAuth(deps: AdminAuthDeps) {
  return async function authenticateAdmin(req: IncomingMessage): Promise<Actor> {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer[ ]+(\S+)$/i.exec(header);
    if (m === null) throw new AdminError('unauthorized', 'Send Authorization: Bearer <admin token or admin key>');
    const presented = m[1] as string;
    const token = deps.token();
    if (token !== '' && timingSafeEqual(Buffer.from(hashSecret(presented), 'hex'), Buffer.from(hashSecret(token), 'hex'))) {
      return { name: 'admin-token', ...client(req) };
    }
    let r;
    try {
      r = await deps.resolver.resolve(deps.hasher()(presented), Date.now());
    } catch {
      throw new AdminError('store_unavailable', 'The key store is unavailable');
    }
    if (r.status !== 'valid') throw new AdminError('unauthorized', 'The admin credential is not valid');
    if (!deps.authorizer().actionsOf(r.principal).has(ADMIN_ACTION)) {
      throw new AdminError('forbidden', `The principal lacks ${ADMIN_ACTION}`);
    }
    return { name: r.principal.name, id: r.principal.id, keyId: r.key.id, ...client(req) };
  };
}
