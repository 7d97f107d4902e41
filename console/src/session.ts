import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ConsoleConfig, Session } from './api.ts';
import { may } from './api.ts';

export interface SessionCtx {
  session: Session;
  config: ConsoleConfig;
}

export const SessionContext = createContext<SessionCtx | null>(null);

export function useSession(): SessionCtx {
  const s = useContext(SessionContext);
  if (s === null) throw new Error('useSession outside a signed-in console');
  return s;
}

/** Whether the signed-in caller holds an admin action (`keygate:admin:keys:write`, …). */
export function useMay(): (action: string) => boolean {
  const { session } = useSession();
  return (action) => may(session.permissions, action);
}
