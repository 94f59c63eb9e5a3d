/**
 * FHIR search.html over the index tables: filters, chaining, _has, _sort, keyset paging (`next`
 * carries the sort keys and id of the last entry), _include/_revinclude, _total, _summary, _elements.
 */
import type { BundleLink } from '@medplum/fhirtypes';
import { bundleJson, outcomeEntry, pageLink, type RawEntry } from '../bundle-json';
import { informational, invalid, issue, limitExceeded, outcomeOf } from '../errors';
import { LIMIT_VARIABLES } from '../limits';
import { DIRECTORY_TYPES, isDirectoryType } from '../resource-types';
import { encodeCursor } from '../paging';
import { isLenient } from '../query-parameters';
import type { FhirRequest, FhirResult } from '../request';
import type { FhirContext } from '../context';
import { parseSearch } from '../search/parse-search';
import { cachedAnswer, type CacheScope, type HeadSlot } from '../search/cached-answer';
import type { Computed } from '../search/response-cache';
import { needsShaping, shapeResource } from '../search/shape-result';
import type { VersionRecord } from '../../storage/resource-store';
import type { Condition, IncludeSpec, SearchQuery, SearchResult } from '../../storage/search-query';
import { SearchTooCostlyError } from '../../storage/storage-errors';
import {
  contextToRead,
  everyoneTypes,
  isAdminOnlyType,
  mentionsAdminOnlyType,
  requireReadable,
  withoutCache,
} from '../admin-only';

/** Included resources are capped; a warning outcome says when some were left out. */
export const INCLUDE_CAP = 1000;

/** FHIR http.html#search: `POST [type]/_search` with a form body means the same as GET. */
export function searchPost(ctx: FhirContext, request: FhirRequest, type: string): Promise<FhirResult> {
  const query = new URLSearchParams(request.query);
  if (request.body instanceof URLSearchParams)
    for (const [name, value] of request.body) query.append(name, value);
  return search(ctx, { ...request, query }, type);
}

/** System-level search `GET /fhir?_type=Organization,Endpoint&…`: parameters every named type has. */
export function systemSearch(ctx: FhirContext, request: FhirRequest): Promise<FhirResult> {
  const listed = (request.query.get('_type') ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  // Unnamed, the admin-only types are left out for everyone (admin-only.ts).
  const types = listed.length > 0 ? listed : everyoneTypes(DIRECTORY_TYPES);
  const unknown = types.filter((t) => !isDirectoryType(t));
  if (unknown.length > 0)
    throw invalid(`_type names types this directory does not store: ${unknown.join(', ')}`, '_type');
  return search(ctx, request, types[0] as string, types);
}

/**
 * FHIR search, answered from the response cache when the store has not changed since the same search
 * was last answered (see search/response-cache.ts). The query is put in canonical order first, so the
 * response, links included, is the same for every order of the same parameters.
 */
export function search(
  ctx: FhirContext,
  request: FhirRequest,
  type: string,
  types?: string[],
): Promise<FhirResult> {
  const lenient = isLenient(request);
  const named = contextToRead(ctx, types ?? [type], request.principal);
  // A chain, _has or include through an admin-only type is checked once parsed; never cached.
  const c = mentionsAdminOnlyType(request.query) ? withoutCache(named) : named;
  return cachedAnswer(
    c,
    request,
    searchScope(type, lenient, types),
    (query, slot) => runSearch(c, query, lenient, type, types, request, slot),
    { buildReadsHead: true },
  );
}

/**
 * What, besides the query, a search's cache key names. A system search (`types`) is keyed apart from
 * a type search even for one type: its Bundle's links name the system base, not the type's.
 */
export function searchScope(type: string, lenient: boolean, types?: string[]): CacheScope {
  return types ? ['search-system', types.join(','), lenient] : ['search', type, lenient];
}

/**
 * The types whose rows a search reads, for the response cache: its own type(s), the targets of its
 * chains and the sources of its `_has`, the types its includes name; undefined (any type) when an
 * include iterates or names no target type.
 */
export function typesRead(query: SearchQuery, includes: IncludeSpec[]): string[] | undefined {
  const read = new Set<string>(query.types ?? [query.type]);
  const visit = (conditions: Condition[]): void => {
    for (const c of conditions) {
      if (c.kind === 'chain') read.add(c.targetType);
      if (c.kind === 'has') read.add(c.sourceType);
      if (c.kind === 'chain' || c.kind === 'has') visit(c.conditions);
    }
  };
  visit(query.conditions);
  for (const spec of includes) {
    if (spec.iterate) return undefined;
    if (spec.reverse) read.add(spec.sourceType);
    else if (spec.targetType) read.add(spec.targetType);
    else return undefined;
  }
  return [...read];
}

/** Every type a search names: its own, its chains' targets, its `_has` sources, its includes' types. */
export function typesNamed(query: SearchQuery, includes: IncludeSpec[]): Set<string> {
  const named = new Set<string>(query.types ?? [query.type]);
  const visit = (conditions: Condition[]): void => {
    for (const c of conditions) {
      if (c.kind === 'chain') named.add(c.targetType);
      if (c.kind === 'has') named.add(c.sourceType);
      if (c.kind === 'chain' || c.kind === 'has') visit(c.conditions);
    }
  };
  visit(query.conditions);
  for (const spec of includes) {
    named.add(spec.sourceType);
    if (spec.targetType) named.add(spec.targetType);
  }
  return named;
}

async function runSearch(
  ctx: FhirContext,
  query: URLSearchParams,
  lenient: boolean,
  type: string,
  types: string[] | undefined,
  request: FhirRequest,
  slot?: HeadSlot,
): Promise<Computed> {
  const signal = request.signal;
  // Across types, a parameter must mean something for every one of them.
  for (const other of types?.slice(1) ?? []) parseSearch(other, query, lenient, ctx.baseUrl, ctx.limits);
  const parsed = parseSearch(type, query, lenient, ctx.baseUrl, ctx.limits);
  const searchQuery = parsed.query;
  if (types) searchQuery.types = types;
  const namesAdminOnly = requireReadable(typesNamed(searchQuery, parsed.includes), request.principal);
  const countOnly = parsed.summary === 'count';
  if (countOnly) searchQuery.count = 0;
  const maxCost = ctx.limits.searchCost;
  const page = await searchWithinCost(ctx, searchQuery, maxCost, signal, slot !== undefined);
  if (slot) slot.head = page.head;

  const base = types ? ctx.baseUrl : `${ctx.baseUrl}/${type}`;
  const link: BundleLink[] = [{ relation: 'self', url: pageLink(base, query, {}) }];
  if (page.next && !countOnly) {
    link.push({
      relation: 'next',
      url: pageLink(base, query, {
        _page: encodeCursor({ k: page.next.keys, i: page.next.id, ...(types ? { t: page.next.type } : {}) }),
        _start: undefined,
      }),
    });
  }

  const shape = needsShaping(parsed.summary, parsed.elements);
  const entryOf = (record: VersionRecord, mode: 'match' | 'include'): RawEntry => {
    const entry: RawEntry = {
      entry: { fullUrl: `${ctx.baseUrl}/${record.resourceType}/${record.id}`, search: { mode } },
    };
    if (record.content !== undefined) {
      entry.resourceJson = shape
        ? shapeResource(record.content, parsed.summary, parsed.elements)
        : record.content;
    }
    return entry;
  };
  const entries: RawEntry[] = countOnly ? [] : page.records.map((r) => entryOf(r, 'match'));
  if (!countOnly && parsed.includes.length > 0 && page.records.length > 0) {
    const included = await ctx.store.include(parsed.includes, page.records, INCLUDE_CAP, {
      signal,
      maxCost,
    });
    // An include that reaches an admin-only type without naming it leaves it out, for everyone.
    const shown = namesAdminOnly
      ? included.records
      : included.records.filter((r) => !isAdminOnlyType(r.resourceType));
    entries.push(...shown.map((r) => entryOf(r, 'include')));
    if (included.truncated) {
      const why = included.tooCostly
        ? `The includes stopped early: the rest would cost more than SEARCH_MAX_COST (${maxCost}) allows`
        : `Only the first ${INCLUDE_CAP} included resources are returned`;
      entries.push(outcomeEntry(outcomeOf([issue('too-costly', why, undefined, 'warning')])));
    }
  }
  if (page.totalTooCostly) {
    // FHIR search.html#total: `_total` is a hint the server SHOULD honour; here it says why it did not.
    const why = `Bundle.total is left out: counting every match would cost more than SEARCH_MAX_COST (${maxCost}) allows`;
    entries.push(outcomeEntry(outcomeOf([issue('too-costly', why, '_total', 'warning')])));
  }
  if (parsed.ignored.length > 0) {
    entries.push(
      outcomeEntry(
        informational(`Ignored unknown parameter(s) ${parsed.ignored.join(', ')} (Prefer: handling=lenient)`),
      ),
    );
  }
  const text = bundleJson(
    { type: 'searchset', link, ...(page.total === undefined ? {} : { total: page.total }) },
    entries,
  );
  const read = typesRead(searchQuery, parsed.includes);
  return read ? { text, types: read } : text;
}

/** The page, refused with 400 `too-costly` naming SEARCH_MAX_COST when the planner estimates it over. */
async function searchWithinCost(
  ctx: FhirContext,
  query: SearchQuery,
  maxCost: number,
  signal: AbortSignal | undefined,
  withHead: boolean,
): Promise<SearchResult> {
  try {
    return await ctx.store.search(query, { signal, maxCost, ...(withHead ? { withHead } : {}) });
  } catch (err) {
    if (!(err instanceof SearchTooCostlyError)) throw err;
    throw limitExceeded(
      `The database estimates this search at ${Math.round(err.estimate)} cost units: narrow it ` +
        '(fewer values, chain links, sort keys or includes, a smaller _count, no _total)',
      LIMIT_VARIABLES.searchCost,
      err.maxCost,
    );
  }
}
