import { useState } from 'preact/hooks';
import { api, type ConsoleConfig, type Session } from '../api.ts';
import { ErrorText } from '../ui/bits.tsx';

/** Sign-in: the admin token or an admin key (bootstrap), or OpenID Connect for people. */
export function SignIn(props: { config: ConsoleConfig | undefined; notice?: string; failure?: string | undefined; onSignedIn: (s: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const s = await api.signIn(token.trim());
      setToken('');
      props.onSignedIn(s);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <main class="signin" id="main">
      <h1>keygate console</h1>
      {props.notice !== undefined && props.notice !== '' && <p role="status" class="card notice">{props.notice}</p>}
      {props.failure !== undefined && (
        <div role="alert" class="card error" aria-labelledby="sign-in-failed">
          <h2 id="sign-in-failed">Sign-in with SSO failed</h2>
          <p>{props.failure}</p>
        </div>
      )}
      <form onSubmit={submit} class="card">
        <label for="admin-token">Admin token</label>
        <input
          id="admin-token"
          type="password"
          autocomplete="off"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <p class="muted hint">The gateway's admin token, or the secret of a key whose principal holds admin permissions.</p>
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>Sign in</button>
      </form>
      {props.config?.oidc.enabled === true && (
        <p class="card">
          <a class="button" href={props.config.oidc.loginUrl}>Sign in with SSO</a>
        </p>
      )}
    </main>
  );
}
