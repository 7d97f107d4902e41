import type { Limits } from '../api.ts';
import { limitText, when } from '../format.ts';

/**
 * The limit in force on a key and what is left of each quota that counts it (the limits issue's
 * `GET /v1/keys/{id}/limits`), with where each comes from.
 */
export function LimitsView(props: { limits: Limits }) {
  const { limit, quotas, override } = props.limits;
  return (
    <>
      <dl class="facts">
        <dt>Rate limit</dt>
        <dd>
          {limit === null
            ? 'None'
            : `${limit.rate}${limit.burst === null ? '' : `, burst ${limit.burst}`}, per ${limit.per} (${limit.policy === 'override' ? 'its own' : `policy ${limit.policy}`}, from ${limit.source})`}
        </dd>
        {override !== undefined && (override.limit !== undefined || override.quota !== undefined) && (
          <>
            <dt>Overrides</dt>
            <dd>{[override.limit === undefined ? '' : `limit ${limitText(override.limit)}`, override.quota === undefined ? '' : `quota ${limitText(override.quota)}`].filter((x) => x !== '').join('; ')}</dd>
          </>
        )}
      </dl>
      {quotas.length === 0 ? (
        <p class="muted">No quota counts this key.</p>
      ) : (
        <table class="data" aria-label="Quotas">
          <thead>
            <tr>
              <th scope="col">Quota</th>
              <th scope="col">Counts</th>
              <th scope="col">Allowed</th>
              <th scope="col">Used</th>
              <th scope="col">Left</th>
              <th scope="col">Resets</th>
            </tr>
          </thead>
          <tbody>
            {quotas.map((q) => (
              <tr key={`${q.scope}:${q.name}`}>
                <td>{q.name}</td>
                <td>{q.scope}</td>
                <td class="num">{q.requests} {q.period === 'none' ? 'in all' : `a ${q.period}`}</td>
                <td class="num">{q.used}</td>
                <td class="num">{q.remaining}</td>
                <td>{q.resetsAt === null ? 'Never' : when(q.resetsAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
