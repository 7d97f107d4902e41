import type { ComponentChildren } from 'preact';
import { useId, useState } from 'preact/hooks';

type Copied = '' | 'yes' | 'no';

/** Copies `text`; without clipboard permission, selects the field so Ctrl+C works. */
async function copyText(text: string, fieldId: string): Promise<Copied> {
  try {
    await navigator.clipboard.writeText(text);
    return 'yes';
  } catch {
    const el = document.getElementById(fieldId);
    if (el instanceof HTMLTextAreaElement || el instanceof HTMLInputElement) el.select();
    return 'no';
  }
}

function copiedText(c: Copied): string {
  return c === 'yes' ? 'Copied to the clipboard.' : c === 'no' ? 'Copying was refused: the text is selected, press Ctrl+C.' : '';
}

/**
 * The secret of a new or rotated key, shown this once. It lives only in component state: never in
 * storage, the URL or a later response; closing the dialog drops it. A key pair's id is shown
 * beside it (both are needed for the token exchange); `children` go between the secret and the
 * buttons (connection details).
 */
export function SecretOnce(props: { secret: string; keyPair: boolean; keyId?: string; onDone: () => void; children?: ComponentChildren }) {
  const id = useId();
  const [copied, setCopied] = useState<Copied>('');
  return (
    <div class="secret">
      <p class="warning">
        Copy this secret now. It will not be shown again: keygate stores only its hash and cannot recover it.
        {props.keyPair ? ' A key pair secret is exchanged for short-lived tokens; it is not sent on requests itself.' : ''}
      </p>
      {props.keyPair && props.keyId !== undefined && <CopyField label="Key ID" value={props.keyId} copyLabel="Copy key ID" />}
      <label for={id}>Secret</label>
      <textarea id={id} readOnly rows={props.secret.length > 120 ? 8 : 2} spellcheck={false} autocomplete="off" class="mono" value={props.secret} />
      <div class="actions">
        <button type="button" onClick={async () => setCopied(await copyText(props.secret, id))}>Copy</button>
        <span aria-live="polite" class="muted">{copiedText(copied)}</span>
      </div>
      {props.children}
      <div class="actions">
        <button type="button" class="secondary" onClick={props.onDone}>Done</button>
      </div>
    </div>
  );
}

/** A read-only value with its own copy button (named for what it copies: "Copy key ID"). */
export function CopyField(props: { label: string; value: string; copyLabel: string }) {
  const id = useId();
  const [copied, setCopied] = useState<Copied>('');
  return (
    <div class="copy-field">
      <label for={id}>{props.label}</label>
      <div class="actions">
        <input id={id} readOnly spellcheck={false} autocomplete="off" class="mono" value={props.value} />
        <button type="button" class="secondary" onClick={async () => setCopied(await copyText(props.value, id))}>{props.copyLabel}</button>
        <span aria-live="polite" class="muted">{copiedText(copied)}</span>
      </div>
    </div>
  );
}
