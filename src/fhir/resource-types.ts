/**
 * The resource types this directory stores, and the interactions it offers on each. The
 * CapabilityStatement, the router and the OpenAPI test all read this one list.
 */
export const DIRECTORY_TYPES = [
  'Organization',
  'Endpoint',
  'Location',
  'HealthcareService',
  'OrganizationAffiliation',
  'Practitioner',
  'PractitionerRole',
  'CapabilityStatement',
] as const;

export type DirectoryType = (typeof DIRECTORY_TYPES)[number];

export const TYPE_INTERACTIONS = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'history-type',
  'create',
  'search-type',
] as const;

export const SYSTEM_INTERACTIONS = ['transaction', 'batch', 'history-system', 'search-system'] as const;

const TYPE_SET: ReadonlySet<string> = new Set(DIRECTORY_TYPES);

export function isDirectoryType(type: string): type is DirectoryType {
  return TYPE_SET.has(type);
}

/** FHIR datatypes.html#id: 1–64 characters of A–Z, a–z, 0–9, '-' and '.'. */
export const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}
