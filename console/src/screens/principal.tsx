import { useEffect, useState } from 'preact/hooks';
import { api, type Principal } from '../api.ts';
import { kindLabel, listOf, when } from '../format.ts';
import { href } from '../router.ts';
import { useMay } from '../session.ts';
import { ErrorText, Field, Loading } from '../ui/bits.tsx';
import { useLoad } from '../ui/load.ts';
import { CreateKeyDialog } from './create-key.tsx';
import { KeysTable } from './keys-table.tsx';

/** A principal: roles, groups, org, the disabled switch, and its keys. */
export function PrincipalPage(props: { id: string }) {
  const may = useMay();
  const principal = useLoad(() => api.principal(props.id), [props.id]);
  const keys = useLoad(() => api.keys(props.id), [props.id]);
  const [creating, setCreating] = useState(false);
  const p = principal.data;
  return (
    <>
      <p class="crumbs"><a href={href(['principals'])}>Principals</a></p>
      <ErrorText error={principal.error} />
      {p === undefined ? (
        principal.loading && <Loading what="principal" />
      ) : (
        <>
          <h1>{p.name}</h1>
          <dl class="facts">
            {/* Free text from the API, as a text node: markup in it shows as written. */}
            <Field label="Display name">{p.displayName ?? '—'}</Field>
            <Field label="Type">{kindLabel(p)}</Field>
            <Field label="Id"><code>{p.id}</code></Field>
            <Field label="Created">{when(p.createdAt)}</Field>
            <Field label="Defined in">{p.source === 'config' ? 'configuration file (read-only here)' : 'admin API'}</Field>
            {Object.keys(p.metadata).length > 0 && (
              <Field label="Metadata">
                {Object.entries(p.metadata).map(([k, v]) => <div key={k}>{k}: {v}</div>)}
              </Field>
            )}
          </dl>
          {may('keygate:admin:principals:write') && p.source !== 'config' ? (
            <EditPrincipal principal={p} onSaved={principal.reload} />
          ) : (
            <dl class="facts">
              <Field label="Roles">{p.roles.join(', ') || '—'}</Field>
              <Field label="Groups">{p.groups.join(', ') || '—'}</Field>
              <Field label="Org">{p.org ?? '—'}</Field>
              <Field label="Status">{p.disabled ? 'Disabled' : 'Enabled'}</Field>
            </dl>
          )}
          {may('keygate:admin:audit:read') && <p><a href={href(['history'], { principal: p.id })}>Request history of {p.name}</a></p>}
        </>
      )}
      <section aria-labelledby="keys-heading">
        <div class="section-head">
          <h2 id="keys-heading">Keys</h2>
          {may('keygate:admin:keys:write') && p !== undefined && (
            <button type="button" onClick={() => setCreating(true)}>Create key</button>
          )}
        </div>
        <ErrorText error={keys.error} />
        {keys.data === undefined ? keys.loading && <Loading what="keys" /> : <KeysTable keys={keys.data} label={`Keys of ${p?.name ?? props.id}`} />}
      </section>
      {creating && p !== undefined && <CreateKeyDialog owner={{ id: p.id, name: p.name, org: p.org ?? null }} onClose={() => setCreating(false)} onCreated={keys.reload} />}
    </>
  );
}

function EditPrincipal(props: { principal: Principal; onSaved: () => void }) {
  const p = props.principal;
  const [displayName, setDisplayName] = useState(p.displayName ?? '');
  const [roles, setRoles] = useState(p.roles.join(', '));
  const [groups, setGroups] = useState(p.groups.join(', '));
  const [org, setOrg] = useState(p.org ?? '');
  // The switch shows what was asked at once; an API refusal puts it back.
  const [disabled, setDisabled] = useState(p.disabled);
  const [error, setError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setDisplayName(p.displayName ?? '');
    setRoles(p.roles.join(', '));
    setGroups(p.groups.join(', '));
    setOrg(p.org ?? '');
    setDisabled(p.disabled);
  }, [p]);

  async function run(f: () => Promise<unknown>, done: string, undo?: () => void) {
    setBusy(true);
    setError(undefined);
    setSaved('');
    try {
      await f();
      setSaved(done);
      props.onSaved();
    } catch (err) {
      undo?.();
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  const submit = (e: Event) => {
    e.preventDefault();
    // An emptied display name removes it; one never set stays absent.
    const shown = displayName.trim();
    const name = shown !== '' ? { displayName: shown } : p.displayName === undefined ? {} : { displayName: null };
    void run(() => api.updatePrincipal(p.id, { ...name, roles: listOf(roles), groups: listOf(groups), ...(org.trim() === '' ? {} : { org: org.trim() }) }), 'Saved.');
  };
  return (
    <form onSubmit={submit} class="grid card">
      <label for="ep-display-name">Display name</label>
      <input id="ep-display-name" value={displayName} maxLength={200} onInput={(e) => setDisplayName(e.currentTarget.value)} />
      <label for="ep-roles">Roles</label>
      <input id="ep-roles" value={roles} onInput={(e) => setRoles(e.currentTarget.value)} />
      <label for="ep-groups">Groups</label>
      <input id="ep-groups" value={groups} onInput={(e) => setGroups(e.currentTarget.value)} />
      <label for="ep-org">Org</label>
      <input id="ep-org" value={org} onInput={(e) => setOrg(e.currentTarget.value)} />
      <label for="ep-disabled">Disabled</label>
      <span>
        <input
          id="ep-disabled"
          type="checkbox"
          role="switch"
          aria-checked={disabled}
          checked={disabled}
          disabled={busy}
          aria-describedby="ep-disabled-hint"
          onChange={(e) => {
            const want = e.currentTarget.checked;
            setDisabled(want);
            void run(() => api.setDisabled(p.id, want), want ? 'Disabled: its keys stop working at once.' : 'Enabled.', () => setDisabled(!want));
          }}
        />
        <span id="ep-disabled-hint" class="muted"> Every key and token of a disabled principal is refused at once.</span>
      </span>
      <ErrorText error={error} />
      <div class="actions span">
        <button type="submit" disabled={busy}>Save</button>
        <span aria-live="polite" class="muted">{saved}</span>
      </div>
    </form>
  );
}
