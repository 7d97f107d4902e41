import { useState } from 'preact/hooks';
import { ApiError, api, type Key, type KeyWithSecret } from '../api.ts';
import { expiryText, keyTypeLabel, when } from '../format.ts';
import { href, navigate } from '../router.ts';
import { useMay, useSession } from '../session.ts';
import { ErrorText, Field, Loading, StatusBadge } from '../ui/bits.tsx';
import { Dialog } from '../ui/dialog.tsx';
import { useLoad } from '../ui/load.ts';
import { SecretOnce } from '../ui/secret.tsx';
import { LimitsView } from '../ui/limits.tsx';
import { UsageChart } from '../ui/usage-chart.tsx';

/** A key: its facts, notes, usage chart, and Rotate / Expire now / Delete. */
export function KeyPage(props: { id: string }) {
  const may = useMay();
  const { session } = useSession();
  const key = useLoad(() => api.key(props.id), [props.id]);
  const usage = useLoad(() => api.usage(props.id, 30), [props.id]);
  // A gateway without the limits endpoints answers 404: then there is no section, not an error.
  const limits = useLoad(() => api.keyLimits(props.id).catch((e: unknown) => {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }), [props.id]);
  const [dialog, setDialog] = useState<'' | 'rotate' | 'expire' | 'delete'>('');
  const k = key.data;
  const own = k !== undefined && session.principal !== null && k.principalId === session.principal.id;
  const canWrite = may('keygate:admin:keys:write') || (own && may('keygate:admin:keys:own'));
  const mine = own && !may('keygate:admin:principals:read');
  const back = mine ? href(['me']) : k === undefined ? href(['principals']) : href(['principals', k.principalId]);
  const live = k !== undefined && (k.status === 'active' || k.status === 'rotated');
  return (
    <>
      <p class="crumbs"><a href={back}>{mine ? 'Back to My keys' : 'Back to the principal'}</a></p>
      <ErrorText error={key.error} />
      {k === undefined ? (
        key.loading && <Loading what="key" />
      ) : (
        <>
          <h1>Key {k.name ?? k.prefix}</h1>
          <dl class="facts">
            <Field label="Status"><StatusBadge status={k.status} /></Field>
            <Field label="Prefix"><code>{k.prefix}</code></Field>
            <Field label="Type">{keyTypeLabel(k)}</Field>
            <Field label="Id"><code>{k.id}</code></Field>
            <Field label="Created">{when(k.createdAt)}{k.createdBy === undefined ? '' : ` by ${k.createdBy}`}</Field>
            <Field label="Expires">{expiryText(k.expiresAt)}</Field>
            <Field label="Last used">{k.lastUsedAt === undefined ? 'Never' : when(k.lastUsedAt)}</Field>
            <Field label="Scopes">{k.scopes === undefined ? 'All of its principal\'s permissions' : k.scopes.join(', ') || 'none'}</Field>
            {k.rotatedTo !== undefined && <Field label="Replaced by"><a href={href(['keys', k.rotatedTo])}>{k.rotatedTo}</a></Field>}
            {k.rotatedFrom !== undefined && <Field label="Replaces"><a href={href(['keys', k.rotatedFrom])}>{k.rotatedFrom}</a></Field>}
          </dl>
          {canWrite && (
            <div class="actions">
              <button type="button" disabled={!live} onClick={() => setDialog('rotate')}>Rotate</button>
              <button type="button" class="danger" disabled={!live} onClick={() => setDialog('expire')}>Expire now</button>
              <button type="button" class="danger" onClick={() => setDialog('delete')}>Delete</button>
            </div>
          )}
          {canWrite ? <EditNotes k={k} onSaved={key.reload} /> : k.purpose !== undefined && <p>{k.purpose}</p>}
          {may('keygate:admin:audit:read') && <p><a href={href(['history'], { key: k.id })}>Request history of this key</a></p>}
        </>
      )}
      <section aria-labelledby="usage-heading">
        <h2 id="usage-heading">Usage, last 30 days</h2>
        <ErrorText error={usage.error} />
        {usage.data === undefined ? usage.loading && <Loading what="usage" /> : <UsageChart usage={usage.data} />}
      </section>
      {limits.data !== null && k !== undefined && (
        <section aria-labelledby="limits-heading">
          <h2 id="limits-heading">Limits</h2>
          <ErrorText error={limits.error} />
          {limits.data === undefined ? limits.loading && <Loading what="limits" /> : <LimitsView limits={limits.data} />}
        </section>
      )}
      {k !== undefined && dialog === 'rotate' && <RotateDialog k={k} onClose={() => setDialog('')} onRotated={key.reload} />}
      {k !== undefined && dialog === 'expire' && (
        <Confirm
          title="Expire this key now?"
          text="Every request with it is refused from now on, on every replica. This cannot be undone."
          action="Expire now"
          run={() => api.expireKey(k.id)}
          onClose={() => setDialog('')}
          onDone={key.reload}
        />
      )}
      {k !== undefined && dialog === 'delete' && (
        <Confirm
          title="Delete this key?"
          text="The key is refused from now on and its record is removed; its audit events stay."
          action="Delete"
          run={() => api.deleteKey(k.id)}
          onClose={() => setDialog('')}
          onDone={() => navigate(back)}
        />
      )}
    </>
  );
}

function EditNotes(props: { k: Key; onSaved: () => void }) {
  const [name, setName] = useState(props.k.name ?? '');
  const [purpose, setPurpose] = useState(props.k.purpose ?? '');
  const [error, setError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState('');
  async function submit(e: Event) {
    e.preventDefault();
    setError(undefined);
    setSaved('');
    try {
      await api.updateKey(props.k.id, { name, purpose });
      setSaved('Saved.');
      props.onSaved();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form onSubmit={submit} class="grid card" aria-label="Name and notes">
      <label for="kn-name">Name</label>
      <input id="kn-name" value={name} maxLength={512} onInput={(e) => setName(e.currentTarget.value)} />
      <label for="kn-purpose">Purpose / notes</label>
      <textarea id="kn-purpose" rows={2} value={purpose} maxLength={512} onInput={(e) => setPurpose(e.currentTarget.value)} />
      <ErrorText error={error} />
      <div class="actions span">
        <button type="submit">Save notes</button>
        <span aria-live="polite" class="muted">{saved}</span>
      </div>
    </form>
  );
}

const GRACE = [
  { value: '', label: 'None: the old secret stops working now' },
  { value: '1h', label: '1 hour' },
  { value: '24h', label: '24 hours' },
  { value: '7d', label: '7 days' },
  { value: '30d', label: '30 days' },
];

function RotateDialog(props: { k: Key; onClose: () => void; onRotated: () => void }) {
  const [grace, setGrace] = useState('24h');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [rotated, setRotated] = useState<KeyWithSecret | null>(null);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setRotated(await api.rotateKey(props.k.id, grace === '' ? undefined : grace));
      props.onRotated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  if (rotated !== null) {
    return (
      <Dialog title="Key rotated" onClose={props.onClose}>
        <p>
          The new key is <a href={href(['keys', rotated.key.id])} onClick={props.onClose}><code>{rotated.key.prefix}</code></a>.
          {grace === '' ? ' The old secret no longer works.' : ` The old secret keeps working for ${GRACE.find((g) => g.value === grace)?.label ?? grace}.`}
        </p>
        <SecretOnce secret={rotated.secret} keyPair={rotated.key.type === 'key_pair'} onDone={props.onClose} />
      </Dialog>
    );
  }
  return (
    <Dialog title="Rotate key" onClose={props.onClose}>
      <form onSubmit={submit} class="grid">
        <label for="rk-grace">Grace period</label>
        <select id="rk-grace" value={grace} onChange={(e) => setGrace(e.currentTarget.value)}>
          {GRACE.map((g) => <option key={g.value} value={g.value}>{g.label}</option>)}
        </select>
        <p class="muted hint span">A new secret is issued; callers using the old one have the grace period to switch.</p>
        <ErrorText error={error} />
        <div class="actions span">
          <button type="submit" disabled={busy}>Rotate</button>
          <button type="button" class="secondary" onClick={props.onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}

function Confirm(props: { title: string; text: string; action: string; run: () => Promise<unknown>; onClose: () => void; onDone: () => void }) {
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  async function go() {
    setBusy(true);
    setError(undefined);
    try {
      await props.run();
      props.onClose();
      props.onDone();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <p>{props.text}</p>
      <ErrorText error={error} />
      <div class="actions">
        <button type="button" class="danger" disabled={busy} onClick={go}>{props.action}</button>
        <button type="button" class="secondary" onClick={props.onClose}>Cancel</button>
      </div>
    </Dialog>
  );
}
