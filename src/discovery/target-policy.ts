/**
 * Which addresses the crawler may connect to (issue 13, "Safety": it fetches URLs that implementers
 * typed). Only public unicast addresses, unless DISCOVERY_ALLOW_PRIVATE; only https, unless
 * DISCOVERY_ALLOW_HTTP. The classification is ipaddr.js's (its special-purpose ranges follow the IANA
 * registries: loopback, private, link-local, carrier-grade NAT, multicast, reserved, documentation,
 * unique-local, 6to4/Teredo and NAT64 forms that embed an IPv4 address...): anything but `unicast` is
 * refused, and an IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
 */
import ipaddr from 'ipaddr.js';

export interface TargetPolicy {
  /** DISCOVERY_ALLOW_PRIVATE: connect to any address (tests, private networks). */
  allowPrivate: boolean;
  /** DISCOVERY_ALLOW_HTTP: fetch http:// URLs too. */
  allowHttp: boolean;
}

/** A target the policy refuses: no connection was made. */
export class UnsafeTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeTargetError';
  }
}

/** The ipaddr.js range an address falls in (`unicast` for a public one), or undefined when it is no address. */
export function addressRange(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return undefined;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range();
}

export function isPublicAddress(address: string): boolean {
  return addressRange(address) === 'unicast';
}

/** Throws UnsafeTargetError when the policy forbids connecting to `address`. */
export function checkAddress(address: string, policy: TargetPolicy): void {
  if (policy.allowPrivate) return;
  const range = addressRange(address);
  if (range !== 'unicast')
    throw new UnsafeTargetError(
      `${address} is not a public address (${range ?? 'invalid'}); set DISCOVERY_ALLOW_PRIVATE=true to allow it`,
    );
}

/** Throws UnsafeTargetError when the policy forbids the URL's scheme. */
export function checkScheme(url: URL, policy: TargetPolicy): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && policy.allowHttp) return;
  throw new UnsafeTargetError(
    url.protocol === 'http:'
      ? `${url.href} is not https; set DISCOVERY_ALLOW_HTTP=true to allow http`
      : `${url.protocol} URLs are not fetched`,
  );
}
