import { useId, useState } from 'preact/hooks';

/**
 * The secret of a new or rotated key, shown this once. It lives only in component state: never in
 * storage, the URL or a later response; closing the dialog drops it.
 */
export function SecretOnce(props: { secret: string; keyPair: boolean; onDone: () => void }) {
  const id = useId();
  const [copied, setCopied] = useState<'' | 'yes' | 'no'>('');
  async function copy() {
    try {
      await navigator.clipboard.writeText(props.secret);
      setCopied('yes');
    } catch {
      // No clipboard permission: select the text so Ctrl+C works.
      const el = document.getElementById(id);
      if (el instanceof HTMLTextAreaElement) el.select();
      setCopied('no');
    }
  }
  return (
    <div class="secret">
      <p class="warning">
        Copy this secret now. It will not be shown again: keygate stores only its hash and cannot recover it.
        {props.keyPair ? ' A key pair secret is exchanged for short-lived tokens; it is not sent on requests itself.' : ''}
      </p>
      <label for={id}>Secret</label>
      <textarea id={id} readOnly rows={props.secret.length > 120 ? 8 : 2} spellcheck={false} autocomplete="off" class="mono" value={props.secret} />
      <div class="actions">
        <button type="button" onClick={copy}>Copy</button>
        <button type="button" class="secondary" onClick={props.onDone}>Done</button>
        <span aria-live="polite" class="muted">
          {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'no' ? 'Copying was refused: the secret is selected, press Ctrl+C.' : ''}
        </span>
      </div>
    </div>
  );
}
