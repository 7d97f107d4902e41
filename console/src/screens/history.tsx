import { useEffect, useState } from 'preact/hooks';
import { api, type AuditEvent } from '../api.ts';
import { when } from '../format.ts';
import { href, navigate } from '../router.ts';
import { ErrorText, Loading } from '../ui/bits.tsx';

const FILTERS = ['principal', 'key', 'route', 'decision', 'kind', 'since', 'until'] as const;
type Filter = Partial<Record<(typeof FILTERS)[number], string>>;

function filterOf(q: URLSearchParams): Filter {
  const f: Filter = {};
  for (const k of FILTERS) {
    const v = q.get(k);
    if (v !== null && v !== '') f[k] = v;
  }
  return f;
}

/** The request history of a principal or a key (Mend's report): filters, pages, CSV export. */
export function History(props: { query: URLSearchParams }) {
  const filter = filterOf(props.query);
  const key = JSON.stringify(filter);
  const [items, setItems] = useState<AuditEvent[] | undefined>(undefined);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  async function load(from: string | null) {
    setBusy(true);
    setError(undefined);
    try {
      const page = await api.audit({ ...filter, limit: '100', ...(from === null ? {} : { cursor: from }) });
      setItems((old) => (from === null ? page.items : [...(old ?? []), ...page.items]));
      setCursor(page.nextCursor);
    } catch (e) {
      setError(e);
      if (from === null) setItems([]);
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => {
    setItems(undefined);
    void load(null);
  }, [key]);

  return (
    <>
      <h1>Request history</h1>
      <Filters initial={filter} />
      <p>
        <a class="button secondary" href={api.auditCsvUrl(filter)} download="keygate-audit.csv">Export CSV</a>
        <span class="muted"> Up to 1,000 events per file, newest first; the response's Link header names the next file.</span>
      </p>
      <ErrorText error={error} />
      {items === undefined ? (
        <Loading what="events" />
      ) : items.length === 0 ? (
        <p class="muted">No events match.</p>
      ) : (
        <div class="scroll">
          <table class="data" aria-label="Events">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Kind</th>
                <th scope="col">Principal</th>
                <th scope="col">Key</th>
                <th scope="col">Request</th>
                <th scope="col">Route</th>
                <th scope="col">Status</th>
                <th scope="col">Decision</th>
                <th scope="col">Reason</th>
                <th scope="col">Latency (ms)</th>
                <th scope="col">Client</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id}>
                  <td>{when(e.time)}</td>
                  <td>{e.kind}</td>
                  <td>{e.principalId === null ? '' : <a href={href(['principals', e.principalId])}>{e.principalName ?? e.principalId}</a>}</td>
                  <td>{e.keyId === null ? '' : <a href={href(['keys', e.keyId])}><code>{e.keyId}</code></a>}</td>
                  <td>{e.kind === 'admin' ? `${e.action ?? ''} ${e.target ?? ''}` : `${e.method ?? ''} ${e.path ?? ''}`}</td>
                  <td>{e.route ?? ''}</td>
                  <td class="num">{e.status ?? ''}</td>
                  <td>{e.decision}</td>
                  <td>{e.reason ?? ''}</td>
                  <td class="num">{e.latencyMs === null ? '' : e.latencyMs.toFixed(1)}</td>
                  <td>{e.client ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cursor !== null && (
        <button type="button" class="secondary" disabled={busy} onClick={() => void load(cursor)}>Older events</button>
      )}
    </>
  );
}

function Filters(props: { initial: Filter }) {
  const [f, setF] = useState<Filter>(props.initial);
  const set = (k: keyof Filter) => (e: { currentTarget: { value: string } }) => setF({ ...f, [k]: e.currentTarget.value });
  function submit(e: Event) {
    e.preventDefault();
    navigate(href(['history'], f));
  }
  return (
    <form onSubmit={submit} class="filters card" aria-label="Filters">
      <label>Principal <input value={f.principal ?? ''} onInput={set('principal')} /></label>
      <label>Key id <input value={f.key ?? ''} onInput={set('key')} /></label>
      <label>Route <input value={f.route ?? ''} onInput={set('route')} /></label>
      <label>
        Decision{' '}
        <select value={f.decision ?? ''} onChange={set('decision')}>
          <option value="">any</option>
          <option value="allowed">allowed</option>
          <option value="denied">denied</option>
          <option value="error">error</option>
        </select>
      </label>
      <label>
        Kind{' '}
        <select value={f.kind ?? ''} onChange={set('kind')}>
          <option value="">any</option>
          <option value="request">request</option>
          <option value="token">token</option>
          <option value="admin">admin</option>
        </select>
      </label>
      <label>Since <input value={f.since ?? ''} placeholder="24h, 7d or a time" onInput={set('since')} /></label>
      <label>Until <input value={f.until ?? ''} placeholder="a time" onInput={set('until')} /></label>
      <button type="submit">Apply filters</button>
    </form>
  );
}
