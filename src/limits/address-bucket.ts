import { isIPv6 } from 'node:net';

/** The eight 16-bit groups of an IPv6 address (zone removed, `::` and a dotted tail expanded); null when not one. */
function groups(address: string): number[] | null {
  const s = address.split('%')[0] as string;
  if (!isIPv6(s)) return null;
  const halves = s.split('::');
  const parts = (h: string | undefined): string[] => (h === undefined || h === '' ? [] : h.split(':'));
  const head = parts(halves[0]);
  const tail = parts(halves[1]);
  const side = halves.length === 2 ? tail : head;
  const last = side[side.length - 1];
  if (last?.includes('.') === true) {
    const o = last.split('.').map(Number) as [number, number, number, number];
    side.splice(side.length - 1, 1, ((o[0] << 8) | o[1]).toString(16), ((o[2] << 8) | o[3]).toString(16));
  }
  const zeros = 8 - head.length - tail.length;
  return [...head, ...new Array<string>(halves.length === 2 ? zeros : 0).fill('0'), ...tail].map((g) => parseInt(g, 16));
}

/**
 * What the refused-credential limit counts a client address by. An IPv6 client is its /64: a
 * network is handed out per /64 (RFC 6177), and a host picks any address in it at will (privacy
 * addresses, RFC 8981), so per address it would get a fresh bucket per request. An IPv4-mapped
 * or NAT64 address is the IPv4 address it carries.
 */
export function addressBucket(address: string): string {
  const g = groups(address);
  if (g === null) return address;
  // IPv4-mapped (::ffff:0:0/96) and NAT64's well-known prefix (64:ff9b::/96, RFC 6052): one IPv4 client each.
  const v4 = (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) || (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0));
  if (v4) return `${(g[6] as number) >> 8}.${(g[6] as number) & 255}.${(g[7] as number) >> 8}.${(g[7] as number) & 255}`;
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`;
}
