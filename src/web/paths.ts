/** The web directory's own URLs, and small phrases several pages share. */
import type { Address } from '@medplum/fhirtypes';

export const organizationPath = (id: string): string => `/organizations/${encodeURIComponent(id)}`;
export const endpointPath = (id: string): string => `/endpoints/${encodeURIComponent(id)}`;

/** "City, ST" (either part alone when the other is missing). */
export function placeOf(address: Address | undefined): string {
  if (!address) return '';
  return [address.city, address.state].filter(Boolean).join(', ');
}

/** The id a local reference (`Organization/abc`) points at, when it points at that type. */
export function idOf(reference: string | undefined, type: string): string | undefined {
  if (!reference?.startsWith(`${type}/`)) return undefined;
  const id = reference.slice(type.length + 1);
  return id && !id.includes('/') ? id : undefined;
}
