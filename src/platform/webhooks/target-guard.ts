import { isIP } from 'node:net';
import type { AddressPolicy } from './address-policy.ts';

/** Resolves a host name to its addresses (every one of them). Injected: tests answer names with chosen addresses. */
export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

/** A URL and the one address Stoa checked and will connect to (no second lookup). */
export interface CheckedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

export type TargetCheck =
  | { ok: true; target: CheckedTarget }
  | { ok: false; reason: 'invalid_url' | 'scheme' | 'forbidden_address' | 'unresolvable'; message: string };

export interface TargetGuard {
  /** Parses, checks the scheme, resolves once and checks every address; the answer pins the first address. */
  check(raw: string): Promise<TargetCheck>;
}

export function createTargetGuard(policy: AddressPolicy, resolve: () => Resolver): TargetGuard {
  return {
    async check(raw) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return { ok: false, reason: 'invalid_url', message: 'must be an absolute http or https URL' };
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: 'scheme', message: 'must use http or https' };
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (!host) return { ok: false, reason: 'invalid_url', message: 'must name a host' };
      let addresses: Array<{ address: string; family: number }>;
      if (isIP(host)) {
        addresses = [{ address: host, family: isIP(host) }];
      } else {
        try {
          addresses = await resolve()(host);
        } catch (error) {
          return { ok: false, reason: 'unresolvable', message: `cannot resolve ${host}: ${(error as Error).message}` };
        }
        if (addresses.length === 0) return { ok: false, reason: 'unresolvable', message: `${host} has no address` };
      }
      // Every address must be allowed: a name that also answers a private address is refused.
      const refused = addresses.find((a) => !policy.allows(a.address));
      if (refused) return { ok: false, reason: 'forbidden_address', message: `resolves to a non-public address (${refused.address})` };
      const first = addresses[0]!;
      return { ok: true, target: { url, address: first.address, family: first.family === 6 ? 6 : 4 } };
    },
  };
}
