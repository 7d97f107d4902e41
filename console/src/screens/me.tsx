import { useState } from 'preact/hooks';
import { api, type Key } from '../api.ts';
import { useMay, useSession } from '../session.ts';
import { ErrorText, Loading } from '../ui/bits.tsx';
import { useLoad } from '../ui/load.ts';
import { CreateKeyDialog } from './create-key.tsx';
import { KeysTable } from './keys-table.tsx';

/** Live as the key store counts toward `keys.maxPerPrincipal`: neither revoked nor expired yet. */
export function isLive(k: Key, now = Date.now()): boolean {
  const past = (t: string | undefined) => t !== undefined && Date.parse(t) <= now;
  return !past(k.revokedAt) && !past(k.expiresAt);
}

/** "My keys": a person's own keys (Mend's user keys), up to `keys.maxPerPrincipal` live ones. */
export function MyKeys() {
  const { session, config } = useSession();
  const may = useMay();
  const me = session.principal;
  const keys = useLoad(() => (me === null ? Promise.resolve([]) : api.keys(me.id)), [me?.id]);
  const [creating, setCreating] = useState(false);
  if (me === null) {
    return (
      <>
        <h1>My keys</h1>
        <p>You signed in with the admin token, which belongs to no principal and so holds no keys. Keys are managed per principal under Principals.</p>
      </>
    );
  }
  const max = config.keys.maxPerPrincipal;
  const live = (keys.data ?? []).filter((k) => isLive(k)).length;
  const full = live >= max;
  const canCreate = may('keygate:admin:keys:own') || may('keygate:admin:keys:write');
  return (
    <>
      <h1>My keys</h1>
      <p>
        Signed in as <strong>{me.name}</strong>. {keys.data !== undefined && <span>{live} of {max} live keys.</span>}
      </p>
      {canCreate && (
        <p>
          <button type="button" disabled={full || keys.data === undefined} aria-describedby={full ? 'me-full' : undefined} onClick={() => setCreating(true)}>Create key</button>
          {full && <span id="me-full" class="muted"> You hold the most live keys allowed ({max}); expire or delete one first.</span>}
        </p>
      )}
      <ErrorText error={keys.error} />
      {keys.data === undefined ? keys.loading && <Loading what="your keys" /> : <KeysTable keys={keys.data} label="My keys" />}
      {creating && <CreateKeyDialog owner={{ id: me.id, name: me.name }} onClose={() => setCreating(false)} onCreated={keys.reload} />}
    </>
  );
}
