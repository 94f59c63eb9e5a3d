/**
 * FHIR http.html#history at instance, type and system level, newest first. Pages are cut by the
 * global change sequence, never by timestamp, so a reader following `next` sees each version once
 * even when many writes share a millisecond, and new writes never shift the pages it has not read.
 */
import type { BundleEntry, BundleLink } from '@medplum/fhirtypes';
import { bundleJson, outcomeEntry, pageLink, type RawEntry } from '../bundle-json';
import { parseDateRange } from '../date-range';
import { invalid, notFound } from '../errors';
import { etagFor } from '../etag';
import { decodeCursor, encodeCursor, parseCount } from '../paging';
import { checkParameters, isLenient } from '../query-parameters';
import type { FhirRequest, FhirResult } from '../request';
import { requireValidId } from '../resource-body';
import type { FhirContext } from '../context';
import { cachedAnswer, type CacheScope } from '../search/cached-answer';
import type { VersionRecord } from '../../storage/resource-store';
import type { HistoryQuery } from '../../storage/search-query';
import { requireStorableParameters } from '../search/storable-text';
import { contextToRead, everyoneTypes } from '../admin-only';
import { DIRECTORY_TYPES } from '../resource-types';
import { ADMIN_ONLY_TYPES } from '../../security/principal';

const HISTORY_PARAMETERS: ReadonlySet<string> = new Set(['_since', '_count', '_page', '_at']);

export interface HistoryScope {
  type?: string;
  id?: string;
}

/** The cache scope of a history request (shared with src/http's hit lane). */
export function historyScope(scope: HistoryScope, lenient: boolean): CacheScope {
  return ['history', scope.type ?? '', scope.id ?? '', lenient];
}

/** History, answered from the response cache while the store's head has not moved (see search). */
export function history(ctx: FhirContext, request: FhirRequest, scope: HistoryScope): Promise<FhirResult> {
  // Type and instance history read that type's rows only; system history reads every type but the
  // admin-only ones (admin-only.ts), so an AuditEvent written ends none of its cached pages.
  const types = scope.type ? [scope.type] : everyoneTypes(DIRECTORY_TYPES);
  const c = contextToRead(ctx, types, request.principal);
  return cachedAnswer(c, request, historyScope(scope, isLenient(request)), async (query) => ({
    text: await historyBundle(c, { ...request, query }, scope),
    types,
  }));
}

async function historyBundle(ctx: FhirContext, request: FhirRequest, scope: HistoryScope): Promise<string> {
  requireStorableParameters(request.query);
  const ignored = checkParameters(request, HISTORY_PARAMETERS, 'history');
  const query: HistoryQuery = { count: parseCount(request.query) };
  if (scope.type) query.type = scope.type;
  if (scope.id) query.id = requireValidId(scope.id);
  if (!scope.type) query.excludeTypes = [...ADMIN_ONLY_TYPES];
  // Years 0001-9999 (date-range.ts): `_at=9999` ends at infinity, which PostgreSQL compares like any instant.
  const since = request.query.get('_since');
  if (since !== null) query.since = parseDateRange(since, '_since').start;
  const at = request.query.get('_at');
  // FHIR _at: versions current at that point in time; we honour its upper bound (versions written before its end).
  if (at !== null) query.before = parseDateRange(at, '_at').end;
  const cursor = decodeCursor(request.query);
  if (cursor) {
    // The server writes exactly { seq } (below); anything else was not written here.
    const { seq, ...rest } = cursor;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0 || Object.keys(rest).length > 0)
      throw invalid('_page is not a history cursor', '_page');
    query.beforeSeq = seq;
  }

  if (scope.type && scope.id) {
    const current = await ctx.store.read(scope.type, scope.id);
    if (!current) throw notFound(`${scope.type}/${scope.id}`);
  }

  const page = await ctx.store.history(query, { signal: request.signal });
  const base = [ctx.baseUrl, scope.type, scope.id, '_history'].filter(Boolean).join('/');
  const link: BundleLink[] = [{ relation: 'self', url: pageLink(base, request.query, {}) }];
  if (page.nextBeforeSeq !== undefined) {
    link.push({
      relation: 'next',
      url: pageLink(base, request.query, { _page: encodeCursor({ seq: page.nextBeforeSeq }) }),
    });
  }
  const entries = page.entries.map((record) => historyEntry(ctx, record));
  if (ignored) entries.push(outcomeEntry(ignored));
  return bundleJson({ type: 'history', link }, entries);
}

function historyEntry(ctx: FhirContext, record: VersionRecord): RawEntry {
  const path = `${record.resourceType}/${record.id}`;
  const entry: Omit<BundleEntry, 'resource'> = {
    fullUrl: `${ctx.baseUrl}/${path}`,
    request: { method: record.method, url: record.method === 'POST' ? record.resourceType : path },
    response: {
      status: record.deleted ? '204' : record.method === 'POST' ? '201' : '200',
      etag: etagFor(record.versionId),
      lastModified: record.lastUpdated,
    },
  };
  if (record.deleted) return { entry };
  return record.content === undefined ? { entry } : { entry, resourceJson: record.content };
}
