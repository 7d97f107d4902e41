import { useMemo, useState } from 'preact/hooks';
import { api, type Key, type Page } from '../api.ts';
import { expiryText, keyTypeLabel, when } from '../format.ts';
import { href } from '../router.ts';
import { useMay } from '../session.ts';
import { ErrorText, Loading, StatusBadge } from '../ui/bits.tsx';
import { Dialog } from '../ui/dialog.tsx';
import { useLoad } from '../ui/load.ts';
import { CreateKeyDialog } from './create-key.tsx';

/**
 * "API keys": every principal's keys on one page (ThreadFix's Global > Administration > API
 * Keys), "Create key" for a user picked by name, and Edit (notes) / Delete per key. Loads the
 * admin API's pages of 1,000; "More keys" loads the next.
 */
export function ApiKeys() {
  const may = useMay();
  const first = useLoad(() => api.allKeys(), []);
  const principals = useLoad(() => api.principals(), []);
  const [more, setMore] = useState<Page<Key> | null>(null);
  const [moreError, setMoreError] = useState<unknown>(undefined);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Key | null>(null);
  const keys = useMemo(() => (first.data === undefined ? undefined : [...first.data.items, ...(more?.items ?? [])]), [first.data, more]);
  const cursor = more === null ? (first.data?.nextCursor ?? null) : more.nextCursor;
  const names = useMemo(() => new Map((principals.data?.items ?? []).map((p) => [p.id, p.name])), [principals.data]);
  const canWrite = may('keygate:admin:keys:write');

  async function loadMore() {
    if (cursor === null) return;
    setMoreError(undefined);
    try {
      const page = await api.allKeys(cursor);
      setMore((m) => ({ items: [...(m?.items ?? []), ...page.items], nextCursor: page.nextCursor }));
    } catch (e) {
      setMoreError(e);
    }
  }
  function reload() {
    setMore(null);
    first.reload();
  }

  return (
    <>
      <h1>API keys</h1>
      <p class="muted">Every principal's keys. A key authorizes with its principal's roles (narrowed by its scopes), and stops working when its principal is disabled or deleted.</p>
      {canWrite && (
        <p>
          <button type="button" disabled={principals.data === undefined} onClick={() => setCreating(true)}>Create key</button>
        </p>
      )}
      <ErrorText error={first.error ?? principals.error} />
      {keys === undefined ? first.loading && <Loading what="keys" /> : <AllKeysTable keys={keys} names={names} onEdit={canWrite ? setEditing : undefined} />}
      <ErrorText error={moreError} />
      {cursor !== null && (
        <p>
          <button type="button" class="secondary" onClick={() => void loadMore()}>More keys</button>
        </p>
      )}
      {creating && principals.data !== undefined && (
        <CreateKeyDialog users={principals.data.items} onClose={() => setCreating(false)} onCreated={reload} />
      )}
      {editing !== null && <EditKeyDialog k={editing} onClose={() => setEditing(null)} onChanged={reload} />}
    </>
  );
}

function AllKeysTable(props: { keys: Key[]; names: Map<string, string>; onEdit: ((k: Key) => void) | undefined }) {
  if (props.keys.length === 0) return <p class="muted">No keys yet.</p>;
  return (
    <div class="scroll">
      <table class="data" aria-label="API keys">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">User</th>
            <th scope="col">Purpose / notes</th>
            <th scope="col">Prefix</th>
            <th scope="col">Type</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">Status</th>
            {props.onEdit !== undefined && <th scope="col"><span class="visually-hidden">Actions</span></th>}
          </tr>
        </thead>
        <tbody>
          {props.keys.map((k) => {
            const label = k.name === undefined || k.name === '' ? k.id : k.name;
            const user = props.names.get(k.principalId) ?? k.principalId;
            return (
              <tr key={k.id}>
                <td><a href={href(['keys', k.id])}>{label}</a></td>
                <td><a href={href(['principals', k.principalId])}>{user}</a></td>
                <td>{k.purpose ?? ''}</td>
                <td><code>{k.prefix}</code></td>
                <td>{keyTypeLabel(k)}</td>
                <td>{when(k.createdAt)}</td>
                <td>{expiryText(k.expiresAt)}</td>
                <td>{k.lastUsedAt === undefined ? 'Never' : when(k.lastUsedAt)}</td>
                <td><StatusBadge status={k.status} /></td>
                {props.onEdit !== undefined && (
                  <td>
                    <button type="button" class="secondary" onClick={() => props.onEdit?.(k)}>
                      Edit/Delete<span class="visually-hidden"> key {label} of {user}</span>
                    </button>
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** ThreadFix's Edit Key modal: the notes, and Delete (which asks once more). */
function EditKeyDialog(props: { k: Key; onClose: () => void; onChanged: () => void }) {
  const [purpose, setPurpose] = useState(props.k.purpose ?? '');
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const label = props.k.name === undefined || props.k.name === '' ? props.k.prefix : props.k.name;
  async function run(f: () => Promise<unknown>) {
    setBusy(true);
    setError(undefined);
    try {
      await f();
      props.onClose();
      props.onChanged();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }
  if (confirming) {
    return (
      <Dialog title={`Delete key ${label}?`} onClose={props.onClose}>
        <p>The key is refused from now on and its record is removed; its audit events stay.</p>
        <ErrorText error={error} />
        <div class="actions">
          <button type="button" class="danger" disabled={busy} onClick={() => void run(() => api.deleteKey(props.k.id))}>Delete</button>
          <button type="button" class="secondary" onClick={props.onClose}>Cancel</button>
        </div>
      </Dialog>
    );
  }
  return (
    <Dialog title={`Edit key ${label}`} onClose={props.onClose}>
      <form
        class="grid"
        onSubmit={(e) => {
          e.preventDefault();
          void run(() => api.updateKey(props.k.id, { purpose }));
        }}
      >
        <label for="ek-purpose">Purpose / notes</label>
        <textarea id="ek-purpose" rows={3} maxLength={512} value={purpose} onInput={(e) => setPurpose(e.currentTarget.value)} />
        <ErrorText error={error} />
        <div class="actions span">
          <button type="submit" disabled={busy}>Save</button>
          <button type="button" class="danger" disabled={busy} onClick={() => setConfirming(true)}>Delete</button>
          <button type="button" class="secondary" onClick={props.onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}
