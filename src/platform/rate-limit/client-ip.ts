import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Which address a request comes from. `X-Forwarded-For` is believed only when
 * the peer is a configured proxy, and then read from the right: the first
 * address that is not itself a trusted proxy is the client.
 */
export interface ClientIpResolver {
  resolve(peer: string | undefined, forwardedFor: string | string[] | undefined): string;
}

/** Parses `10.0.0.0/8, 192.168.1.10, ::1, fd00::/8` into a BlockList; throws on a malformed entry. */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    if (!type) throw new Error(`"${entry}" is not an IP address or CIDR range`);
    if (bits === undefined) list.addAddress(address, type);
    else {
      const prefix = Number(bits);
      if (!/^\d+$/.test(bits) || prefix > (type === 'ipv4' ? 32 : 128)) throw new Error(`"${entry}" has an invalid prefix length`);
      list.addSubnet(address, prefix, type);
    }
  }
  return list;
}

function unmapped(address: string): string {
  // ::ffff:203.0.113.7 is an IPv4 client on a dual-stack socket.
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

function isTrusted(list: BlockList, address: string): boolean {
  if (isIPv4(address)) return list.check(address, 'ipv4');
  if (isIPv6(address)) return list.check(address, 'ipv6');
  return false;
}

/** Expands an IPv6 address to eight 16-bit groups. */
function groupsOf(address: string): number[] {
  const zone = address.indexOf('%');
  const plain = zone >= 0 ? address.slice(0, zone) : address;
  const [head = '', tail] = plain.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? v4Groups(g) : [parseInt(g, 16)])));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function v4Groups(v4: string): number[] {
  const b = v4.split('.').map(Number);
  return [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
}

/** Keeps the first `prefix` bits of an IPv6 address (`2001:db8:1:2300:0:0:0:0/56`); IPv4 addresses are returned as they are. */
export function groupIp(address: string, prefix: number): string {
  // Only IPv6 has colons: IPv4 (the usual case) skips the full-address check.
  if (!address.includes(':') || !isIPv6(address)) return address;
  if (prefix >= 128) return address.toLowerCase();
  const groups = groupsOf(address);
  const out: string[] = [];
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, prefix - i * 16));
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    out.push((groups[i]! & mask).toString(16));
  }
  return `${out.join(':')}/${prefix}`;
}

export function createClientIpResolver(options: { trustedProxies: readonly string[]; ipv6Prefix: number }): ClientIpResolver {
  const trusted = trustedProxyList(options.trustedProxies);
  const anyTrusted = options.trustedProxies.length > 0;
  // A keep-alive connection sends many requests from one peer: group each peer address once.
  const grouped = new Map<string, string>();
  const group = (address: string) => {
    let result = grouped.get(address);
    if (result === undefined) {
      if (grouped.size >= 10_000) grouped.clear();
      grouped.set(address, (result = groupIp(address, options.ipv6Prefix)));
    }
    return result;
  };
  return {
    resolve(peer, forwardedFor) {
      let client = unmapped(peer ?? '');
      if (anyTrusted && forwardedFor !== undefined && isTrusted(trusted, client)) {
        const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
        for (let i = hops.length - 1; i >= 0; i--) {
          const hop = unmapped(hops[i]!.trim());
          if (!isIPv4(hop) && !isIPv6(hop)) break;
          client = hop;
          if (!isTrusted(trusted, hop)) break;
        }
      }
      return client.includes(':') ? group(client) : client || 'unknown';
    },
  };
}
