import { useMemo, useState } from 'preact/hooks';
import { api, type Group } from '../api.ts';
import { listOf, when } from '../format.ts';
import { useMay } from '../session.ts';
import { ErrorText, Loading } from '../ui/bits.tsx';
import { useLoad } from '../ui/load.ts';

/** `type: id, id` per line ⇄ a group's resources object. */
export function parseResources(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i === -1) continue;
    const type = line.slice(0, i).trim();
    if (type === '') continue;
    out[type] = [...(out[type] ?? []), ...listOf(line.slice(i + 1))];
  }
  return out;
}

export function resourcesText(r: Record<string, string[]>): string {
  return Object.entries(r).map(([t, ids]) => `${t}: ${ids.join(', ')}`).join('\n');
}

/** Groups: roles granted on named resources (Contrast's access groups). */
export function Groups() {
  const may = useMay();
  const first = useLoad(() => api.groups(), []);
  // Later pages (1,000 each, in name order), appended by "More groups" like the principals list.
  const [more, setMore] = useState<{ items: Group[]; cursor: string | null } | null>(null);
  const [moreError, setMoreError] = useState<unknown>(undefined);
  const [loadingMore, setLoadingMore] = useState(false);
  const all = useMemo(() => (first.data === undefined ? undefined : [...first.data.items, ...(more?.items ?? [])]), [first.data, more]);
  const cursor = more === null ? (first.data?.nextCursor ?? null) : more.cursor;
  const groups = { data: all, error: first.error, loading: first.loading };
  // After a write the list starts again from the first page: the change may be on any page.
  const reload = () => {
    setMore(null);
    first.reload();
  };
  async function loadMore() {
    if (cursor === null) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const page = await api.groups(cursor);
      setMore((m) => ({ items: [...(m?.items ?? []), ...page.items], cursor: page.nextCursor }));
    } catch (e) {
      setMoreError(e);
    } finally {
      setLoadingMore(false);
    }
  }
  const write = may('keygate:admin:groups:write');
  return (
    <>
      <h1>Groups</h1>
      <p class="muted">A group grants its roles on the resources it lists; principals in the group hold those roles there only.</p>
      {write && <GroupForm onSaved={reload} />}
      <ErrorText error={groups.error} />
      {groups.data !== undefined && groups.data.length > 0 && (
        <p class="muted" aria-live="polite">{groups.data.length} groups{cursor === null ? '' : ' loaded'}</p>
      )}
      {groups.data === undefined ? (
        groups.loading && <Loading what="groups" />
      ) : groups.data.length === 0 ? (
        <p class="muted">No groups yet.</p>
      ) : (
        <table class="data" aria-label="Groups">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Roles</th>
              <th scope="col">Resources</th>
              <th scope="col">Created</th>
              {write && <th scope="col"><span class="visually-hidden">Actions</span></th>}
            </tr>
          </thead>
          <tbody>
            {groups.data.map((g) => <GroupRow key={g.name} g={g} write={write} onChanged={reload} />)}
          </tbody>
        </table>
      )}
      <ErrorText error={moreError} />
      {cursor !== null && (
        <p>
          <button type="button" class="secondary" disabled={loadingMore} onClick={() => void loadMore()}>More groups</button>
        </p>
      )}
    </>
  );
}

function GroupRow(props: { g: Group; write: boolean; onChanged: () => void }) {
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const g = props.g;
  if (editing) {
    return (
      <tr>
        <td colSpan={props.write ? 5 : 4}>
          <GroupForm group={g} onSaved={() => { setEditing(false); props.onChanged(); }} onCancel={() => setEditing(false)} />
        </td>
      </tr>
    );
  }
  return (
    <tr>
      <td>{g.name}</td>
      <td>{g.roles.join(', ')}</td>
      <td>
        <ul class="plain">
          {Object.entries(g.resources).map(([type, ids]) => <li key={type}><strong>{type}</strong>: {ids.join(', ')}</li>)}
        </ul>
      </td>
      <td>{when(g.createdAt)}</td>
      {props.write && (
        <td>
          <button type="button" class="secondary" aria-label={`Edit group ${g.name}`} onClick={() => setEditing(true)}>Edit</button>{' '}
          <button
            type="button"
            class="danger"
            aria-label={`Delete group ${g.name}`}
            onClick={() => api.deleteGroup(g.name).then(props.onChanged, setError)}
          >
            Delete group
          </button>
          <ErrorText error={error} />
        </td>
      )}
    </tr>
  );
}

function GroupForm(props: { group?: Group; onSaved: () => void; onCancel?: () => void }) {
  const g = props.group;
  const [name, setName] = useState(g?.name ?? '');
  const [roles, setRoles] = useState(g?.roles.join(', ') ?? '');
  const [resources, setResources] = useState(g === undefined ? '' : resourcesText(g.resources));
  const [error, setError] = useState<unknown>(undefined);
  const idp = g === undefined ? 'ng' : 'eg';
  async function submit(e: Event) {
    e.preventDefault();
    setError(undefined);
    try {
      if (g === undefined) await api.createGroup({ name: name.trim(), roles: listOf(roles), resources: parseResources(resources) });
      else await api.updateGroup(g.name, { roles: listOf(roles), resources: parseResources(resources) });
      if (g === undefined) {
        setName('');
        setRoles('');
        setResources('');
      }
      props.onSaved();
    } catch (err) {
      setError(err);
    }
  }
  const form = (
    <form onSubmit={submit} class="grid">
      {g === undefined && (
        <>
          <label for={`${idp}-name`}>Name</label>
          <input id={`${idp}-name`} required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </>
      )}
      <label for={`${idp}-roles`}>Roles</label>
      <input id={`${idp}-roles`} value={roles} onInput={(e) => setRoles(e.currentTarget.value)} />
      <label for={`${idp}-resources`}>Resources</label>
      <textarea id={`${idp}-resources`} rows={3} value={resources} placeholder="application: app-1, app-2" aria-describedby={`${idp}-resources-hint`} onInput={(e) => setResources(e.currentTarget.value)} />
      <p id={`${idp}-resources-hint`} class="muted hint span">One resource type per line: <code>type: id, id</code>.</p>
      <ErrorText error={error} />
      <div class="actions span">
        <button type="submit">{g === undefined ? 'Create group' : 'Save group'}</button>
        {props.onCancel !== undefined && <button type="button" class="secondary" onClick={props.onCancel}>Cancel</button>}
      </div>
    </form>
  );
  return g === undefined ? <details class="card"><summary>New group</summary>{form}</details> : form;
}
