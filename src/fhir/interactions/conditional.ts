/**
 * FHIR http.html#ccreate, #cond-update, #cdelete: a search inside the write transaction decides the
 * target. Writes hold the directory's write lock, so the search and the write it decides cannot be
 * overtaken by another writer: 20 simultaneous conditional creates make exactly one resource. A
 * transaction also searches before the lock, to prepare its entries, and again under it: it uses
 * what it prepared only when both searches agree (transaction-plan.ts). The criteria are a search,
 * bounded by the same request limits (a conditional update with 300 conditions is a 400 too-costly).
 */
import type { Resource } from '@medplum/fhirtypes';
import { invalid, preconditionFailed } from '../errors';
import type { RequestLimits } from '../limits';
import { parseSearch } from '../search/parse-search';
import { requireReadable } from '../admin-only';
import { typesNamed } from './search';
import type { ResourceReader, VersionRecord } from '../../storage/resource-store';

/** The current resources matching `criteria` (at most two: more than one is already an answer). */
export async function findMatches(
  reader: ResourceReader,
  type: string,
  criteria: URLSearchParams,
  what: string,
  limits: Readonly<RequestLimits>,
  baseUrl?: string,
): Promise<VersionRecord[]> {
  const { query } = parseSearch(type, criteria, false, baseUrl, limits);
  if (query.conditions.length === 0) throw invalid(`${what} needs search criteria`);
  // Criteria through AuditEvent would let a writer probe what only admins read: refused for all.
  requireReadable(typesNamed(query, []), undefined);
  const page = await reader.search({ ...query, count: 2, sort: [], withTotal: false });
  return page.records;
}

/** One match at most: zero or one records, or 412 when the criteria are not selective enough. */
export async function findSingleMatch(
  reader: ResourceReader,
  type: string,
  criteria: URLSearchParams,
  what: string,
  limits: Readonly<RequestLimits>,
  baseUrl?: string,
): Promise<VersionRecord | undefined> {
  const matches = await findMatches(reader, type, criteria, what, limits, baseUrl);
  if (matches.length > 1) throw preconditionFailed(`${what}: the criteria match more than one ${type}`);
  return matches[0];
}

export function storedResource(record: VersionRecord): Resource {
  return JSON.parse(record.content ?? '{}') as Resource;
}
