/**
 * How the web directory reads: through the FHIR interactions themselves (search, read, history in
 * src/fhir/interactions), with the same FhirRequest the HTTP layer builds for `GET /fhir/...`, so a
 * page sees exactly what a FHIR client would — the same search parameters, limits, access rules and
 * response cache — and there is no second data path. In-process rather than an HTTP call to our own
 * base: no socket, no second request log line, and the answers come as the JSON text the response
 * cache already holds.
 */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../fhir/context';
import { history } from '../fhir/interactions/history';
import { read } from '../fhir/interactions/read';
import { search } from '../fhir/interactions/search';
import type { FhirRequest, FhirResult } from '../fhir/request';
import type { Principal } from '../security/principal';

export interface DirectoryReader {
  /** `GET /fhir/{type}?{query}` */
  search(type: string, query: URLSearchParams): Promise<Bundle>;
  /** `GET /fhir/{type}/{id}`: a 404 or 410 is thrown as the FhirError the API answers. */
  read(type: string, id: string): Promise<Resource>;
  /** `GET /fhir/{type}/{id}/_history?{query}` */
  history(type: string, id: string, query: URLSearchParams): Promise<Bundle>;
}

function bodyOf<T>(result: FhirResult): T {
  const body = result.body;
  return (typeof body === 'string' ? JSON.parse(body) : body) as T;
}

/** A reader for one page request: `principal` is the visitor's client when a token came with it. */
export function directoryReader(
  ctx: FhirContext,
  principal: Principal | undefined,
  signal?: AbortSignal,
): DirectoryReader {
  const request = (query: URLSearchParams): FhirRequest => ({
    method: 'GET',
    query,
    headers: {},
    ...(principal ? { principal } : {}),
    ...(signal ? { signal } : {}),
  });
  return {
    search: async (type, query) => bodyOf<Bundle>(await search(ctx, request(query), type)),
    read: async (type, id) => bodyOf<Resource>(await read(ctx, request(new URLSearchParams()), type, id)),
    history: async (type, id, query) => bodyOf<Bundle>(await history(ctx, request(query), { type, id })),
  };
}

/** The entries of a searchset Bundle with the given search mode and type. */
export function entriesOf<T extends Resource>(
  bundle: Bundle,
  mode: 'match' | 'include',
  type: T['resourceType'],
): T[] {
  return (bundle.entry ?? [])
    .filter((e: BundleEntry) => e.search?.mode === mode && e.resource?.resourceType === type)
    .map((e) => e.resource as T);
}

/** The cursor (`_page`) of the Bundle's `next` link, when there is a next page. */
export function nextCursor(bundle: Bundle): string | undefined {
  const next = bundle.link?.find((l) => l.relation === 'next')?.url;
  if (!next) return undefined;
  return new URL(next).searchParams.get('_page') ?? undefined;
}
