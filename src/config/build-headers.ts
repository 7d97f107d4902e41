import { BlockList, isIP } from 'node:net';
import type { HeadersConfig, TrustedPeers } from './types.ts';
import { bool, strings, type Obj, type Report } from './raw.ts';

/**
 * `server.trustedProxies` → a matcher on node's BlockList. Entries are an address or
 * `address/prefix`; IPv4 rules also match IPv4-mapped IPv6 peers (`::ffff:10.0.0.5`, what a
 * dual-stack listener reports), which BlockList does by itself.
 */
export function buildTrustedPeers(entries: string[], report: Report, at = '/server/trustedProxies'): TrustedPeers | null {
  if (entries.length === 0) return null;
  const list = new BlockList();
  entries.forEach((entry, i) => {
    const problem = addEntry(list, entry.trim());
    if (problem !== null) report(`${at}/${i}`, `"${entry}" ${problem}: write an address or a CIDR, like 10.0.0.0/8 or fd00::/8`);
  });
  return {
    has(address) {
      const family = isIP(address);
      return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}

function addEntry(list: BlockList, entry: string): string | null {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return 'is not an IP address';
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (slash < 0) {
    list.addAddress(address, type);
    return null;
  }
  const bits = entry.slice(slash + 1);
  const max = family === 6 ? 128 : 32;
  if (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > max) return `has a prefix length outside 0-${max}`;
  list.addSubnet(address, Number(bits), type);
  return null;
}

export function buildHeaders(raw: Obj, report: Report): HeadersConfig {
  const credentialPatterns: RegExp[] = [];
  strings(raw['credentialPatterns']).forEach((text, i) => {
    try {
      credentialPatterns.push(new RegExp(text));
    } catch (e) {
      report(`/server/headers/credentialPatterns/${i}`, `not a regular expression: ${(e as Error).message}`);
    }
  });
  return { allowUnderscores: bool(raw['allowUnderscores']), credentialPatterns };
}
