import type { Resource } from '@medplum/fhirtypes';
import { storedResource } from '../../fhir/interactions/conditional';
import type { RequestLimits } from '../../fhir/limits';
import { parseSearch } from '../../fhir/search/parse-search';
import type { WriteSession } from '../../storage/resource-store';
import type { SearchQuery } from '../../storage/search-query';

/** FHIR search.html#escaping for one token value. */
export const escapeValue = (value: string): string => value.replace(/[\\,|$]/g, (c) => `\\${c}`);

/** Every current resource a search finds inside the write session (paged through, so an Organization with many Endpoints is fine). */
export async function searchAll(
  session: WriteSession,
  type: string,
  params: URLSearchParams,
  baseUrl: string,
  limits: Readonly<RequestLimits>,
): Promise<Array<Resource & { id: string }>> {
  const { query } = parseSearch(type, params, false, baseUrl, limits);
  let page: SearchQuery = { ...query, count: 200, sort: [], withTotal: false };
  const found: Array<Resource & { id: string }> = [];
  for (;;) {
    const result = await session.search(page);
    for (const record of result.records) found.push(storedResource(record) as Resource & { id: string });
    if (!result.next) return found;
    page = { ...page, after: result.next };
  }
}
