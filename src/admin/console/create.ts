import type { GatewayConfig } from '../../config/types.ts';
import type { KeyStore } from '../../keystore/types.ts';
import type { Lifecycle } from '../../lifecycle/service.ts';
import type { StoreTarget } from '../../audit/connection.ts';
import type { Logger } from '../../log/logger.ts';
import type { CredentialCheck } from '../auth.ts';
import type { AdminAudit } from '../../lifecycle/audit.ts';
import { createSessionStore } from './session-store.ts';
import { createSessions, type Sessions } from './sessions.ts';
import { createOidcLogin } from './oidc.ts';
import { createStaticFiles } from './static.ts';
import { createConsoleHandler } from './handler.ts';

export interface ConsoleParts {
  config: () => GatewayConfig;
  /** Where sessions live: the store's Redis, or in process with the embedded store. */
  store: StoreTarget;
  keyStore: KeyStore;
  lifecycle: Lifecycle;
  check: CredentialCheck;
  audit: AdminAudit;
  version: string;
  logger: Logger;
  /** Tests: another build of the console. @default dist/console at the package root */
  assetsDir?: string;
}

/**
 * The console's server side, assembled: session store, sessions, OIDC (when configured) and the
 * `/console` handler. Null when `console.enabled` is false. OIDC settings are read at startup
 * (a provider change needs a restart); timeouts and cookie flags follow config reloads.
 */
export function createConsole(p: ConsoleParts): { handle: ReturnType<typeof createConsoleHandler>; sessions: Sessions; close(): Promise<void> } | null {
  const c0 = p.config().console;
  if (!c0.enabled) return null;
  const store = createSessionStore(p.store);
  const sessions = createSessions(store, () => {
    const c = p.config().console;
    return { idleMs: c.sessionIdleTimeoutMs, maxAgeMs: c.sessionMaxAgeMs };
  });
  const oidc = c0.oidc === null ? null : createOidcLogin(c0.oidc, {
    store,
    findByName: (name) => p.keyStore.getPrincipalByName(name),
    list: () => p.keyStore.listPrincipals(),
    create: (np, actor) => p.lifecycle.principals.create(np, actor),
    logger: p.logger,
  });
  const handle = createConsoleHandler({
    settings: () => {
      const c = p.config();
      return { console: c.console, keys: c.keys, trusted: c.server.trusted, credentials: c.credentials, tokens: c.tokens };
    },
    sessions, check: p.check, audit: p.audit, oidc, files: createStaticFiles(p.assetsDir), version: p.version, logger: p.logger,
  });
  return { handle, sessions, close: () => store.close() };
}
