/**
 * The ids the NPPES import stores its entries at, derived from the source and the business key, so
 * that a re-import finds every entry of a chunk by id in one statement instead of a search per NPI:
 *
 * - an NPI's Organization: `nppes-<source>-<npi>`, `<source>` the first 8 hex digits of the SHA-256
 *   of the source's uri (two sources listing one NPI keep two entries, as before);
 * - its Endpoint at an address: `<organization id>-<the first 16 hex digits of the SHA-256 of the
 *   address>` (the address as stored: `mailto:` for Direct), 42 characters in all.
 *
 * An entry stored under another id (adopted, or imported before these ids) is still found: by the
 * source's identifier (nppes-view.ts).
 */
import { createHash } from 'node:crypto';

const hex = (text: string, digits: number): string =>
  createHash('sha256').update(text).digest('hex').slice(0, digits);

/** The prefix of every Organization id of the source with this uri. */
export function nppesIdPrefix(uri: string): string {
  return `nppes-${hex(uri, 8)}-`;
}

export function nppesOrganizationId(prefix: string, npi: string): string {
  return `${prefix}${npi}`;
}

export function nppesEndpointId(organizationId: string, address: string): string {
  return `${organizationId}-${hex(address, 16)}`;
}

/**
 * The NPI as a small integer, for the set of NPIs an import listed: its first 9 digits (the 10th is
 * their check digit), below 2^30, so a Set of half a million holds V8 small integers (about 8 MB),
 * not strings.
 */
export function npiKey(npi: string): number {
  return Number(npi.slice(0, 9));
}
