import { useState } from 'preact/hooks';
import { api, type KeyWithSecret, type Principal } from '../api.ts';
import { listOf } from '../format.ts';
import { useSession } from '../session.ts';
import { ErrorText } from '../ui/bits.tsx';
import { Dialog } from '../ui/dialog.tsx';
import { ServiceKeyDetails, TokenExchangeDetails } from '../ui/connection.tsx';
import { SecretOnce } from '../ui/secret.tsx';

/** Whose key: the principal's id, and what connection details need of it. */
export interface KeyOwner {
  id: string;
  name: string;
  /** Null: it has none; undefined: not known here (a session's own principal). */
  org?: string | null | undefined;
}

/** Days of a configured lifetime (`90d`, `12h`, a number of days), for the form's default. */
export function lifetimeDays(v: string | number | null | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const m = /^([0-9]+)([smhd]?)$/.exec(v);
  if (m === null) return undefined;
  const n = Number(m[1]);
  const perDay = { s: 86_400, m: 1_440, h: 24, d: 1, '': 1 }[m[2] as 's' | 'm' | 'h' | 'd' | ''];
  return Math.max(1, Math.round(n / perDay));
}

/**
 * "Create key": name, purpose, expiry in days, type, scopes; then the secret, once, with what the
 * caller needs to send it. For one `owner`, or (the API keys screen, ThreadFix's "Add New Key")
 * for a user picked from `users` by typing part of the name.
 */
export function CreateKeyDialog(props: { owner?: KeyOwner; users?: Principal[]; onClose: () => void; onCreated: () => void }) {
  const { config } = useSession();
  const [user, setUser] = useState('');
  const maxDays = lifetimeDays(config.keys.maxLifetime);
  const [name, setName] = useState('');
  const [purpose, setPurpose] = useState('');
  const [days, setDays] = useState(String(lifetimeDays(config.keys.defaultLifetime) ?? ''));
  const [type, setType] = useState<'api_key' | 'key_pair'>('api_key');
  const [scopes, setScopes] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<(KeyWithSecret & { owner: KeyOwner }) | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    setError(undefined);
    const owner = props.owner ?? pickUser(props.users ?? [], user);
    if (owner === undefined) {
      setError(new Error(`No principal is named "${user.trim()}": pick one from the list.`));
      return;
    }
    setBusy(true);
    try {
      const scopeList = listOf(scopes);
      const r = await api.createKey({
        principal: owner.id,
        type,
        ...(name.trim() === '' ? {} : { name: name.trim() }),
        ...(purpose.trim() === '' ? {} : { purpose: purpose.trim() }),
        ...(days.trim() === '' ? {} : { expiresIn: `${days.trim()}d` }),
        ...(scopeList.length === 0 ? {} : { scopes: scopeList }),
      });
      setCreated({ ...r, owner });
      props.onCreated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (created !== null) {
    return (
      <Dialog title="Key created" onClose={props.onClose}>
        <p>
          Key <code>{created.key.prefix}</code> {created.key.name === undefined ? '' : `(${created.key.name})`} is active.
        </p>
        <SecretOnce secret={created.secret} keyPair={created.key.type === 'key_pair'} keyId={created.key.id} onDone={props.onClose}>
          <ConnectionDetails created={created} />
        </SecretOnce>
      </Dialog>
    );
  }
  return (
    <Dialog title="Create key" onClose={props.onClose}>
      <form onSubmit={submit} class="grid">
        {props.owner === undefined && (
          <>
            <label for="ck-user">User</label>
            <input id="ck-user" required list="ck-users" autocomplete="off" value={user} aria-describedby="ck-user-hint" onInput={(e) => setUser(e.currentTarget.value)} />
            <datalist id="ck-users">
              {(props.users ?? []).map((p) => <option key={p.id} value={p.name} />)}
            </datalist>
            <p id="ck-user-hint" class="muted hint span">Type a few letters of the name: the key authorizes with that principal's roles.</p>
          </>
        )}
        <label for="ck-name">Name</label>
        <input id="ck-name" value={name} maxLength={512} onInput={(e) => setName(e.currentTarget.value)} />
        <label for="ck-purpose">Purpose</label>
        <input id="ck-purpose" value={purpose} maxLength={512} onInput={(e) => setPurpose(e.currentTarget.value)} />
        <label for="ck-days">Expires in (days)</label>
        <input
          id="ck-days"
          type="number"
          min={1}
          {...(maxDays === undefined ? {} : { max: maxDays })}
          value={days}
          aria-describedby="ck-days-hint"
          onInput={(e) => setDays(e.currentTarget.value)}
        />
        <p id="ck-days-hint" class="muted hint span">
          Empty: the gateway's default{maxDays === undefined ? '' : `; at most ${maxDays} days`}.
        </p>
        <fieldset class="span">
          <legend>Type</legend>
          <label><input type="radio" name="ck-type" checked={type === 'api_key'} onChange={() => setType('api_key')} /> Key (sent on each request)</label>
          <label><input type="radio" name="ck-type" checked={type === 'key_pair'} onChange={() => setType('key_pair')} /> Key pair (exchanged for short-lived tokens)</label>
        </fieldset>
        <label for="ck-scopes">Scopes</label>
        <input id="ck-scopes" value={scopes} placeholder="application:view" aria-describedby="ck-scopes-hint" onInput={(e) => setScopes(e.currentTarget.value)} />
        <p id="ck-scopes-hint" class="muted hint span">Optional, comma-separated: the key may do only these of what its principal may.</p>
        <ErrorText error={error} />
        <div class="actions span">
          <button type="submit" disabled={busy}>Create</button>
          <button type="button" class="secondary" onClick={props.onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}

/** The principal a typed name picks: exactly its name (or id). */
function pickUser(users: Principal[], typed: string): KeyOwner | undefined {
  const t = typed.trim();
  const p = users.find((u) => u.name === t) ?? users.find((u) => u.id === t);
  return p === undefined ? undefined : { id: p.id, name: p.name, org: p.org ?? null };
}

/** What the gateway accepts the new key as, beyond a Bearer header: a service key pair of headers, a token exchange. */
function ConnectionDetails(props: { created: KeyWithSecret & { owner: KeyOwner } }) {
  const { config } = useSession();
  const c = props.created;
  if (c.key.type === 'key_pair') {
    return config.credentials?.tokens.enabled === true ? <TokenExchangeDetails path={config.credentials.tokens.path} keyId={c.key.id} /> : null;
  }
  const sk = config.credentials?.serviceKey;
  return sk?.enabled === true ? <ServiceKeyDetails user={c.owner.name} org={c.owner.org} secret={c.secret} orgHeader={sk.orgHeader} /> : null;
}
