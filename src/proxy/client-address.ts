import type { TLSSocket } from 'node:tls';
import type { RequestContext } from '../context.ts';

/**
 * Client-address and proxy headers: one rule for all of them (issue 10 #9). From a peer in
 * `server.trustedProxies` they describe the original client, so they are kept and the list
 * forms (`X-Forwarded-For`, RFC 7239 `Forwarded`) get this hop appended; from any other peer
 * they are whatever the client chose to claim, so keygate's own view of the connection
 * replaces them.
 */
export const PROXY_HEADERS: ReadonlySet<string> = new Set([
  'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port',
  'x-real-ip', 'true-client-ip', 'x-client-ip',
]);

/**
 * The client's proxy headers, collected while the header list is built (list forms joined).
 * Most requests carry none, so the map is only made for the first one.
 */
export type SeenProxyHeaders = Map<string, string> | null;

export function collectProxyHeader(seen: SeenProxyHeaders, lowerName: string, value: string): Map<string, string> {
  const s = seen ?? new Map<string, string>();
  const prev = s.get(lowerName);
  if (prev === undefined) s.set(lowerName, value);
  // A single-valued header sent twice keeps its first value, as nginx's $http_ variables do.
  else if (lowerName === 'x-forwarded-for' || lowerName === 'forwarded') s.set(lowerName, `${prev}, ${value}`);
  return s;
}

/** Appends the proxy headers sent upstream to `out`. */
export function pushProxyHeaders(out: string[], ctx: RequestContext, host: string, seen: SeenProxyHeaders): void {
  const socket = ctx.req.socket;
  const peer = socket?.remoteAddress ?? '';
  const proto = (socket as TLSSocket | undefined)?.encrypted === true ? 'https' : 'http';
  const port = String(socket?.localPort ?? '');
  const element = forwardedElement(peer, host, proto);
  const trusted = ctx.gen.config.server.trusted;
  if (trusted === null || !trusted.has(peer)) {
    out.push('forwarded', element, 'x-forwarded-for', peer, 'x-forwarded-proto', proto, 'x-forwarded-host', host, 'x-forwarded-port', port, 'x-real-ip', peer);
    if (seen?.has('true-client-ip') === true) out.push('true-client-ip', peer);
    if (seen?.has('x-client-ip') === true) out.push('x-client-ip', peer);
    return;
  }
  const xff = seen?.get('x-forwarded-for');
  const fwd = seen?.get('forwarded');
  out.push(
    'forwarded', fwd === undefined ? element : `${fwd}, ${element}`,
    'x-forwarded-for', xff === undefined ? peer : `${xff}, ${peer}`,
    'x-forwarded-proto', seen?.get('x-forwarded-proto') ?? proto,
    'x-forwarded-host', seen?.get('x-forwarded-host') ?? host,
    'x-forwarded-port', seen?.get('x-forwarded-port') ?? port,
    'x-real-ip', seen?.get('x-real-ip') ?? clientOf(xff, peer, trusted),
  );
  const tci = seen?.get('true-client-ip');
  if (tci !== undefined) out.push('true-client-ip', tci);
  const xci = seen?.get('x-client-ip');
  if (xci !== undefined) out.push('x-client-ip', xci);
}

/**
 * The original client behind trusted proxies: the right-most X-Forwarded-For entry that is not
 * itself a trusted proxy (nginx's `real_ip_recursive on`).
 */
export function clientOf(xff: string | undefined, peer: string, trusted: { has(a: string): boolean }): string {
  if (xff === undefined) return peer;
  const hops = xff.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = withoutPort((hops[i] as string).trim());
    if (hop !== '' && !trusted.has(hop)) return hop;
  }
  return peer;
}

/**
 * Some proxies and load balancers (Azure's among them) write `ip:port` or `[ipv6]:port`: the
 * port is the client's connection, not the client, so a new connection per request must not
 * look like a new client (the refused-credential limit counts per address).
 */
function withoutPort(hop: string): string {
  if (hop.startsWith('[')) {
    const end = hop.indexOf(']');
    return end > 0 ? hop.slice(1, end) : hop;
  }
  const colon = hop.indexOf(':');
  return colon > 0 && colon === hop.lastIndexOf(':') && hop.includes('.') ? hop.slice(0, colon) : hop;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const quoted = (v: string): string => (TOKEN.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`);

/** RFC 7239 §4: `for=` this hop's peer (IPv6 in brackets, quoted), `host=`, `proto=`. */
function forwardedElement(peer: string, host: string, proto: string): string {
  const node = peer.includes(':') ? `"[${peer}]"` : peer === '' ? 'unknown' : peer;
  return host === '' ? `for=${node};proto=${proto}` : `for=${node};host=${quoted(host)};proto=${proto}`;
}
