import type { CheckDecision } from './contract.ts';
import type { CheckResponse, HeaderValueOption } from './messages.ts';
import { RpcCode, rpcCodeForStatus } from './rpc-code.ts';

/**
 * Replace, never append. `append: false` is what every Envoy release reads; releases that know
 * `append_action` still give `append` precedence when it is set, so both say the same thing and
 * a client-sent `X-Authenticated-User` is overwritten rather than joined with ours.
 */
function overwrite(key: string, value: string): HeaderValueOption {
  return { header: { key, value }, append: { value: false }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' };
}

/**
 * The decider's answer → `CheckResponse`.
 *
 * Allowed: the identity headers are set on the upstream request and the credential plus any
 * client-sent identity headers removed. Envoy applies `headers_to_remove` *after* `headers`
 * (ext_authz.cc, onComplete), so a header keygate sets must not also be listed for removal or
 * the identity it just injected would be stripped; overwriting already discards the client's.
 *
 * Refused: always a `denied_response`, never `error_response` or a failed RPC, which Envoy
 * treats as an authorization-service error (and `failure_mode_allow` would let through). The
 * body is the proxy's JSON error, with its content type: Envoy's local reply would say text/plain.
 */
export function toCheckResponse(decision: CheckDecision): CheckResponse {
  if (decision.allowed) {
    const set = new Set<string>();
    const headers: HeaderValueOption[] = [];
    for (const [name, value] of Object.entries(decision.identity)) {
      set.add(name.toLowerCase());
      headers.push(overwrite(name.toLowerCase(), value));
    }
    const remove = new Set<string>();
    for (const name of decision.removeHeaders) {
      const lower = name.toLowerCase();
      if (!set.has(lower)) remove.add(lower);
    }
    return { status: { code: RpcCode.OK }, ok_response: { headers, headers_to_remove: [...remove] } };
  }
  const headers: HeaderValueOption[] = [];
  let hasType = false;
  for (const [name, value] of Object.entries(decision.headers)) {
    if (name.toLowerCase() === 'content-type') hasType = true;
    headers.push(overwrite(name.toLowerCase(), value));
  }
  if (!hasType) headers.push(overwrite('content-type', 'application/json'));
  // As on the proxy's own refusals: the id in the body is also a header the client can log.
  if (decision.requestId !== '' && !('x-request-id' in decision.headers)) headers.push(overwrite('x-request-id', decision.requestId));
  return {
    status: { code: rpcCodeForStatus(decision.status), message: decision.code },
    denied_response: { status: { code: decision.status }, headers, body: decision.body },
  };
}
