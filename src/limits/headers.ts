import type { Reported } from './demand.ts';

/**
 * draft-ietf-httpapi-ratelimit-headers (-08 and later): both fields are Structured Field Lists
 * (RFC 9651) of quoted policy names with parameters. `RateLimit-Policy` says what each policy is
 * (`q` quota units per `w` seconds), `RateLimit` where it stands (`r` remaining, `t` seconds
 * until it is back to `q`). Policy names come from the config (or are `*-quota`/`override`), all
 * of them sf-string safe by the schema's name pattern.
 * https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/
 */
export function rateLimitHeaders(report: readonly Reported[]): { 'ratelimit-policy': string; ratelimit: string } {
  let policy = '';
  let state = '';
  for (const p of report) {
    const name = `"${p.name.replace(/["\\]/g, '')}"`;
    if (policy !== '') {
      policy += ', ';
      state += ', ';
    }
    policy += `${name};q=${p.q}${p.w === null ? '' : `;w=${p.w}`}`;
    state += `${name};r=${p.r}${p.t === null ? '' : `;t=${p.t}`}`;
  }
  return { 'ratelimit-policy': policy, ratelimit: state };
}
