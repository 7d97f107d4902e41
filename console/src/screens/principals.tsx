import { useLayoutEffect, useMemo, useState } from 'preact/hooks';
import { api, type Page, type Principal } from '../api.ts';
import { kindLabel, listOf, when } from '../format.ts';
import { href, navigate } from '../router.ts';
import { useMay } from '../session.ts';
import { ErrorText, Loading } from '../ui/bits.tsx';
import { ChunkedTable } from '../ui/chunked-table.tsx';
import { useLoad } from '../ui/load.ts';

/**
 * Marks around the principals table so the browser test can time "1,000 principals render in
 * under 1 s" (issue 15) in the page itself: `keygate:principals:load` from request to painted,
 * `keygate:principals:render` from data to painted, `keygate:principals:commit` from data to DOM built.
 */
const MARK_FETCH = 'keygate:principals:fetch';
const MARK_DATA = 'keygate:principals:data';

function loadPrincipals(): Promise<Page<Principal>> {
  performance.mark(MARK_FETCH);
  return api.principals().finally(() => performance.mark(MARK_DATA));
}

export function Principals() {
  const may = useMay();
  const first = useLoad(loadPrincipals, []);
  // Later pages (1,000 each), appended by "More principals"; the filter covers what is loaded.
  const [more, setMore] = useState<{ items: Principal[]; cursor: string | null } | null>(null);
  const [moreError, setMoreError] = useState<unknown>(undefined);
  const [loadingMore, setLoadingMore] = useState(false);
  const all = useMemo(() => (first.data === undefined ? undefined : [...first.data.items, ...(more?.items ?? [])]), [first.data, more]);
  const cursor = more === null ? (first.data?.nextCursor ?? null) : more.cursor;
  const list = { data: all, error: first.error, loading: first.loading };
  async function loadMore() {
    if (cursor === null) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const page = await api.principals(cursor);
      setMore((m) => ({ items: [...(m?.items ?? []), ...page.items], cursor: page.nextCursor }));
    } catch (e) {
      setMoreError(e);
    } finally {
      setLoadingMore(false);
    }
  }
  const [filter, setFilter] = useState('');
  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    const items = all ?? [];
    return f === '' ? items : items.filter((p) => p.name.toLowerCase().includes(f) || (p.displayName ?? '').toLowerCase().includes(f) || p.id.toLowerCase().includes(f) || (p.org ?? '').toLowerCase().includes(f));
  }, [all, filter]);

  // The layout effect runs as the DOM is built; a timeout queued from the next animation frame
  // runs once that frame (style, layout, paint of the new rows) is done.
  useLayoutEffect(() => {
    if (first.data === undefined) return;
    performance.measure('keygate:principals:commit', MARK_DATA);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = requestAnimationFrame(() => {
      timer = setTimeout(() => {
        performance.measure('keygate:principals:render', MARK_DATA);
        performance.measure('keygate:principals:load', MARK_FETCH);
      }, 0);
    });
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [first.data]);

  return (
    <>
      <h1>Principals</h1>
      {may('keygate:admin:principals:write') && <CreatePrincipal onCreated={(p) => navigate(href(['principals', p.id]))} />}
      <div class="toolbar">
        <label for="principal-filter">Filter</label>
        <input id="principal-filter" type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
        {list.data !== undefined && <span class="muted" aria-live="polite">{shown.length} of {list.data.length}{cursor === null ? '' : ' loaded'}</span>}
      </div>
      <ErrorText error={list.error} />
      {list.loading && list.data === undefined && <Loading what="principals" />}
      {list.data !== undefined && <PrincipalTable items={shown} />}
      <ErrorText error={moreError} />
      {cursor !== null && (
        <p>
          <button type="button" class="secondary" disabled={loadingMore} onClick={() => void loadMore()}>More principals</button>
        </p>
      )}
    </>
  );
}

// Name and Type stay first and second: the columns scripts and tests read by position.
const COLUMNS = ['Name', 'Type', 'Display name', 'Roles', 'Groups', 'Org', 'Status', 'Created'];

function PrincipalTable(props: { items: Principal[] }) {
  return (
    <ChunkedTable
      label="Principals"
      columns={COLUMNS}
      items={props.items}
      rowKey={(p) => p.id}
      cells={(p) => [
        <a href={href(['principals', p.id])}>{p.name}</a>,
        kindLabel(p),
        // Free text from the API: a text child, which Preact sets as a text node (never parsed as HTML).
        p.displayName ?? '',
        p.roles.join(', '),
        p.groups.join(', '),
        p.org ?? '',
        p.disabled ? 'Disabled' : 'Enabled',
        when(p.createdAt),
      ]}
    />
  );
}

function CreatePrincipal(props: { onCreated: (p: Principal) => void }) {
  const [name, setName] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [kind, setKind] = useState<'user' | 'service'>('service');
  const [roles, setRoles] = useState('');
  const [org, setOrg] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const p = await api.createPrincipal({
        name: name.trim(), kind, roles: listOf(roles),
        ...(displayName.trim() === '' ? {} : { displayName: displayName.trim() }),
        ...(org.trim() === '' ? {} : { org: org.trim() }),
      });
      props.onCreated(p);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <details class="card">
      <summary>New principal</summary>
      <form onSubmit={submit} class="grid">
        <label for="np-name">Name</label>
        <input id="np-name" required value={name} aria-describedby="np-name-hint" onInput={(e) => setName(e.currentTarget.value)} />
        <span id="np-name-hint" class="muted span">The identity sent upstream: letters, digits and . _ @ - only.</span>
        <label for="np-display-name">Display name</label>
        <input id="np-display-name" value={displayName} maxLength={200} placeholder="Ada Lovelace" onInput={(e) => setDisplayName(e.currentTarget.value)} />
        <label for="np-kind">Type</label>
        <select id="np-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value === 'user' ? 'user' : 'service')}>
          <option value="service">Service (API-only)</option>
          <option value="user">User</option>
        </select>
        <label for="np-roles">Roles</label>
        <input id="np-roles" value={roles} placeholder="viewer, deployer" onInput={(e) => setRoles(e.currentTarget.value)} />
        <label for="np-org">Org</label>
        <input id="np-org" value={org} onInput={(e) => setOrg(e.currentTarget.value)} />
        <ErrorText error={error} />
        <div class="actions">
          <button type="submit" disabled={busy}>Create principal</button>
        </div>
      </form>
    </details>
  );
}
