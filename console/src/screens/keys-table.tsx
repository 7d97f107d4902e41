import type { Key } from '../api.ts';
import { expiryText, hasLimits, keyTypeLabel, limitText, quotaLeftText, when } from '../format.ts';
import { href } from '../router.ts';
import { StatusBadge } from '../ui/bits.tsx';

/** A principal's keys: everything but the secret, which keygate does not have. */
export function KeysTable(props: { keys: Key[]; label: string }) {
  const limits = hasLimits(props.keys);
  if (props.keys.length === 0) return <p class="muted">No keys yet.</p>;
  return (
    <div class="scroll">
      <table class="data" aria-label={props.label}>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Purpose / notes</th>
            <th scope="col">Prefix</th>
            <th scope="col">Type</th>
            <th scope="col">Created</th>
            <th scope="col">Created by</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">Requests (7 days)</th>
            <th scope="col">Status</th>
            {limits && <th scope="col">Limit</th>}
            {limits && <th scope="col">Quota</th>}
            {limits && <th scope="col">Quota left</th>}
          </tr>
        </thead>
        <tbody>
          {props.keys.map((k) => (
            <tr key={k.id}>
              <td><a href={href(['keys', k.id])}>{k.name === undefined || k.name === '' ? k.id : k.name}</a></td>
              <td>{k.purpose ?? ''}</td>
              <td><code>{k.prefix}</code></td>
              <td>{keyTypeLabel(k)}</td>
              <td>{when(k.createdAt)}</td>
              <td>{k.createdBy ?? ''}</td>
              <td>{expiryText(k.expiresAt)}</td>
              <td>{k.lastUsedAt === undefined ? 'Never' : when(k.lastUsedAt)}</td>
              <td class="num">{k.requests7d === null || k.requests7d === undefined ? 'unknown' : k.requests7d}</td>
              <td><StatusBadge status={k.status} /></td>
              {limits && <td>{limitText(k.limit)}</td>}
              {limits && <td>{limitText(k.quota)}</td>}
              {limits && <td>{quotaLeftText(k.quotaLeft)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
