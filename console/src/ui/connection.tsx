import { CopyField } from './secret.tsx';

/** `base64(user:key)` of the UTF-8 bytes, as the gateway decodes a service key. */
export function serviceKeyHeader(user: string, secret: string): string {
  let bin = '';
  for (const b of new TextEncoder().encode(`${user}:${secret}`)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * Contrast's "connection strings" for an API-only user, built in the page from the secret shown
 * once (nothing is fetched: keygate has only the secret's hash): the user name, the
 * `Authorization` value its plug-ins send, and the org key header they send beside it. The org
 * key itself is the operator's (its hash is in the configuration), so it is named, not shown.
 */
export function ServiceKeyDetails(props: { user: string; org?: string | null | undefined; secret: string; orgHeader: string }) {
  return (
    <section class="card" aria-labelledby="conn-heading">
      <h3 id="conn-heading">Connection details</h3>
      <p class="muted hint">For integrations that send a service key (Contrast's API-only users): the Secret above is the service key.</p>
      <CopyField label="Username" value={props.user} copyLabel="Copy username" />
      <CopyField label="Authorization header" value={serviceKeyHeader(props.user, props.secret)} copyLabel="Copy Authorization header" />
      <p>
        <span class="label">Org key header</span>{' '}
        <code>{props.orgHeader}: </code>
        {props.org === null ? (
          <span>this principal belongs to no org; give it one for its org key to be accepted.</span>
        ) : props.org === undefined ? (
          <span>the org key of its org, when the integration sends one.</span>
        ) : (
          <span>the org key of <strong>{props.org}</strong> (its hash is under <code>orgs.{props.org}</code> in the gateway's configuration).</span>
        )}
      </p>
    </section>
  );
}

/** Okta ASA's exchange: the key id and secret are posted for a short-lived bearer token. */
export function TokenExchangeDetails(props: { path: string; keyId: string }) {
  return (
    <section class="card" aria-labelledby="exchange-heading">
      <h3 id="exchange-heading">Getting a token</h3>
      <p>
        Post the key ID and the secret to the proxy's <code>{props.path}</code>, then send the returned <code>bearer_token</code> as{' '}
        <code>Authorization: Bearer …</code> until its <code>expires_at</code>:
      </p>
      <pre class="mono">{`POST ${props.path}\nContent-Type: application/json\n\n{"key_id": "${props.keyId}", "key_secret": "<the secret>"}`}</pre>
    </section>
  );
}
