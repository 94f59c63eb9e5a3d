/**
 * The resource types this directory stores, and the interactions it offers on each. The
 * CapabilityStatement, the router and the OpenAPI test all read this one list.
 */
import { DIRECTORY_WRITTEN_TYPES } from '../security/principal';

export const DIRECTORY_TYPES = [
  'Organization',
  'Endpoint',
  'Location',
  'HealthcareService',
  'OrganizationAffiliation',
  'Practitioner',
  'PractitionerRole',
  'CapabilityStatement',
  // Written only by the directory itself: a Provenance for every write, an AuditEvent for every
  // security event (src/fhir/provenance.ts, src/fhir/audit-event.ts). Clients read them.
  'Provenance',
  'AuditEvent',
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

/** What clients may do with the types only the directory writes (DIRECTORY_WRITTEN_TYPES). */
export const READ_ONLY_INTERACTIONS = [
  'read',
  'vread',
  'history-instance',
  'history-type',
  'search-type',
] as const;

/** The interactions a client may use on `type`, as the CapabilityStatement lists them. */
export function interactionsOf(type: string): readonly (typeof TYPE_INTERACTIONS)[number][] {
  return DIRECTORY_WRITTEN_TYPES.has(type) ? READ_ONLY_INTERACTIONS : TYPE_INTERACTIONS;
}

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
