import { AdminError, type AdminErrorCode } from '../../lifecycle/errors.ts';
import { adminErrorBody } from '../http.ts';
import type { AdminRoute } from './routes.ts';

const RECORD: Record<string, { type: 'principal' | 'key' | 'group'; name: string; id: string }> = {
  principals: { type: 'principal', name: 'Principal', id: 'ci-bot' },
  keys: { type: 'key', name: 'Key', id: 'key_4fT9x0Qa1Lm2Zp7Yc3Vb8Nw' },
  groups: { type: 'group', name: 'Group', id: 'team-a' },
  audit: { type: 'key', name: 'Key', id: 'key_4fT9x0Qa1Lm2Zp7Yc3Vb8Nw' },
  webhooks: { type: 'key', name: 'Delivery', id: 'd_1' },
};

/**
 * A representative refusal of `code` by `route`: the error is built as the code builds it and
 * rendered by the same function that renders real ones, so the examples have the real shape.
 */
export function exampleError(code: AdminErrorCode, route: AdminRoute, action: string | null): AdminError {
  const resource = route.path.split('/')[2] ?? '';
  const rec = RECORD[resource] ?? { type: 'key' as const, name: 'Record', id: 'x' };
  switch (code) {
    case 'invalid_input':
      return route.body === undefined
        ? new AdminError('invalid_input', 'This operation takes no body')
        : new AdminError('invalid_input', 'colour: unknown field', 'colour');
    case 'unauthorized': return new AdminError('unauthorized', 'Send Authorization: Bearer <admin token or admin key>');
    case 'session_required': return new AdminError(code, 'The console session ended (signed out, idle or too old); sign in again');
    case 'csrf_failed': return new AdminError(code, 'A write with the session cookie needs the X-CSRF-Token header the session API gave');
    case 'scopes_not_held': return new AdminError(code, 'scopes: not held by the caller, so a key of its own cannot have them: application:edit', 'scopes');
    case 'key_lifetime_exceeded': return new AdminError(code, 'expiresIn: 400d is longer than keys.maxLifetime (365d)', 'expiresIn');
    case 'key_expiry_required': return new AdminError(code, 'Keys must expire (keys.requireExpiry); send expiresIn of at most 365d', 'expiresIn');
    case 'key_pair_secret_not_credential': return new AdminError(code, 'A key pair secret is not a credential; exchange it for a short-lived token');
    case 'forbidden':
      return action === null
        ? new AdminError('forbidden', 'The principal holds no admin action (keygate:admin or keygate:admin:…)')
        : new AdminError('forbidden', `Missing admin permission: ${action} (a key's scopes narrow its principal's roles)`);
    case 'not_found': return new AdminError('not_found', `No ${rec.type} "${rec.id}"`);
    case 'conflict':
      if (route.path.endsWith('/rotate')) return new AdminError(code, `Key "${rec.id}" is not active and cannot be rotated`);
      if (route.method === 'PATCH' && route.path === '/v1/keys/{id}') return new AdminError(code, `Key "${rec.id}" is expired; its expiry cannot change`);
      return new AdminError(code, `${rec.type} ${rec.id}: duplicate`);
    case 'key_limit_reached': return new AdminError(code, 'A principal may hold at most 10 live keys');
    case 'read_only': return new AdminError(code, 'Principal "ci-bot" is declared in the config file; change it there');
    case 'payload_too_large': return new AdminError(code, 'Request bodies are limited to 65536 bytes');
    case 'unsupported_media_type': return new AdminError(code, 'Send application/json');
    case 'too_many_failed_credentials': return new AdminError(code, 'Too many wrong admin credentials from this address; retry later');
    case 'store_unavailable': return new AdminError(code, route.method === 'GET' ? 'The key store is unavailable' : 'The key store is unavailable; nothing was changed');
    case 'outcome_unknown':
      return new AdminError(code, `The key store did not confirm the write in time: it may or may not have been applied. Look up ${rec.type} "${rec.id}" before retrying`,
        undefined, { type: rec.type, id: rec.id });
    default: return new AdminError(code, 'See docs/errors.md');
  }
}

export function exampleBody(code: AdminErrorCode, route: AdminRoute, action: string | null): object {
  return adminErrorBody(exampleError(code, route, action));
}
