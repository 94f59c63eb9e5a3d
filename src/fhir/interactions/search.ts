/**
 * FHIR search.html, for now `_id` and `_lastUpdated` with keyset paging (the full search engine
 * with index tables arrives with the search issue and replaces `store.search`).
 */
import type { BundleLink } from '@medplum/fhirtypes';
import { bundleJson, outcomeEntry, pageLink, type RawEntry } from '../bundle-json';
import { parseDateRange } from '../date-range';
import { invalid } from '../errors';
import { decodeCursor, encodeCursor, parseCount } from '../paging';
import { checkParameters } from '../query-parameters';
import type { FhirRequest, FhirResult } from '../request';
import type { FhirContext } from '../context';
import type { BasicSearch, DatePrefix, LastUpdatedFilter } from '../../storage/resource-store';

export const SEARCH_PARAMETERS: ReadonlySet<string> = new Set([
  '_id',
  '_lastUpdated',
  '_count',
  '_page',
  '_total',
]);

const DATE_PREFIXES: ReadonlySet<string> = new Set(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);

export async function search(ctx: FhirContext, request: FhirRequest, type: string): Promise<FhirResult> {
  const ignored = checkParameters(request, SEARCH_PARAMETERS, `Search on ${type}`);
  const query: BasicSearch = { type, count: parseCount(request.query) };
  const ids = request.query.getAll('_id');
  if (ids.length > 0) {
    // Repeated _id is AND: only ids named in every one match.
    const sets = ids.map(
      (value) =>
        new Set(
          value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        ),
    );
    query.ids = [...(sets[0] ?? [])].filter((id) => sets.every((set) => set.has(id)));
  }
  const lastUpdated = request.query.getAll('_lastUpdated').map(parseLastUpdated);
  if (lastUpdated.length > 0) query.lastUpdated = lastUpdated;
  const total = request.query.get('_total');
  if (total !== null && !['none', 'estimate', 'accurate'].includes(total)) {
    throw invalid(`_total must be none, estimate or accurate, not '${total}'`, '_total');
  }
  query.withTotal = total === 'accurate' || total === 'estimate';
  const cursor = decodeCursor(request.query);
  if (cursor) {
    if (typeof cursor.after !== 'string') throw invalid('_page is not a search cursor', '_page');
    query.afterId = cursor.after;
  }

  const page = await ctx.store.search(query);
  const base = `${ctx.baseUrl}/${type}`;
  const link: BundleLink[] = [{ relation: 'self', url: pageLink(base, request.query, {}) }];
  if (page.nextAfterId !== undefined) {
    link.push({
      relation: 'next',
      url: pageLink(base, request.query, { _page: encodeCursor({ after: page.nextAfterId }) }),
    });
  }
  const entries: RawEntry[] = page.records.map((record) => ({
    entry: { fullUrl: `${ctx.baseUrl}/${record.resourceType}/${record.id}`, search: { mode: 'match' } },
    ...(record.content === undefined ? {} : { resourceJson: record.content }),
  }));
  if (ignored) entries.push(outcomeEntry(ignored));
  return {
    status: 200,
    body: bundleJson(
      { type: 'searchset', link, ...(page.total === undefined ? {} : { total: page.total }) },
      entries,
    ),
  };
}

function parseLastUpdated(value: string): LastUpdatedFilter {
  const prefix = value.slice(0, 2);
  const hasPrefix = DATE_PREFIXES.has(prefix);
  return {
    prefix: (hasPrefix ? prefix : 'eq') as DatePrefix,
    range: parseDateRange(hasPrefix ? value.slice(2) : value, '_lastUpdated'),
  };
}
