/**
 * What an NPPES import retires (retire-missing.ts says why and how), found without keeping the ids
 * of every entry written: the import keeps the NPIs it listed (small integers, nppes-ids.ts) and the
 * Endpoints whose Organization stopped listing them (`dropped`, as many as the file changed). At the
 * end, the source's Organizations are paged through (500 a statement, keyset on id, never all in
 * memory), and retired, with every live Endpoint they manage, when their NPI was not listed; each
 * dropped Endpoint is retired when its Organization's current version still does not reference it.
 * Each page's retirements are written before the next page is read.
 */
import type { Endpoint, Organization, Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../../fhir/context';
import type { SearchQuery } from '../../storage/search-query';
import type { SourceRef } from '../../storage/source-store';
import { retireEntries, retiredVersion, type RetireOptions, type RetireResult } from '../retire-missing';
import { npiKey } from './nppes-ids';
import { endpointsManagedBy, searchEvery, type Stored } from './nppes-view';

const PAGE = 500;
const LOOKUP_BATCH = 100;

export async function retireUnlisted(
  ctx: FhirContext,
  owner: SourceRef,
  listed: ReadonlySet<number>,
  dropped: ReadonlySet<string>,
  options: RetireOptions,
): Promise<RetireResult> {
  const result: RetireResult = { retired: 0, deleted: 0, leftMissing: 0 };
  const owned = (r: Resource): boolean => r.meta?.source === owner.uri;
  const settle = async (entries: Stored<Resource>[]): Promise<void> => {
    // Deleting removes even a retired entry; retiring one already retired makes no version.
    const due = options.deleteMissing ? entries : entries.filter((e) => retiredVersion(e) !== undefined);
    if (!options.complete) result.leftMissing = (result.leftMissing ?? 0) + due.length;
    else {
      const done = await retireEntries(ctx, owner, due, options.deleteMissing);
      result.retired += done.retired;
      result.deleted += done.deleted;
    }
  };

  const carrying: SearchQuery = {
    type: 'Organization',
    conditions: [{ kind: 'token', param: 'identifier', values: [{ system: owner.uri }] }],
    sort: [],
    count: 0,
    withTotal: true,
  };
  // Each listed NPI has its own Organization with the identifier: when no more carry it, none is
  // unlisted, and the pages need not be read (a re-import spent half its time there).
  const total = (await ctx.store.search(carrying)).total;
  for (
    let page: SearchQuery | undefined =
      total === listed.size ? undefined : { ...carrying, count: PAGE, withTotal: false };
    page;
  ) {
    const found = await ctx.store.search(page);
    page = found.next ? { ...page, after: found.next } : undefined;
    const unlisted = found.records
      .map((r) => JSON.parse(r.content ?? '{}') as Stored<Organization>)
      // One retired before (and its Endpoints with it) is left, unless deleting.
      .filter((org) => owned(org) && !isListed(org, owner.uri, listed))
      .filter((org) => options.deleteMissing || org.active !== false);
    if (unlisted.length === 0) continue;
    const endpoints = (
      await managedEndpoints(
        ctx,
        unlisted.map((o) => o.id),
      )
    ).filter(owned);
    await settle([...endpoints, ...unlisted]);
  }

  const droppedIds = [...dropped];
  for (let start = 0; start < droppedIds.length; start += LOOKUP_BATCH) {
    const endpoints = (
      await byId<Endpoint>(ctx, 'Endpoint', droppedIds.slice(start, start + LOOKUP_BATCH))
    ).filter(owned);
    const managers = new Map(
      (
        await byId<Organization>(
          ctx,
          'Organization',
          endpoints.map((e) => managerId(e) ?? ''),
        )
      ).map((o) => [o.id, o]),
    );
    await settle(
      endpoints.filter((e) => {
        const manager = managers.get(managerId(e) ?? '');
        // An unlisted Organization's Endpoints were settled with it above.
        return (
          manager !== undefined &&
          isListed(manager, owner.uri, listed) &&
          !(manager.endpoint ?? []).some((r) => r.reference === `Endpoint/${e.id}`)
        );
      }),
    );
  }
  return result;
}

function isListed(org: Organization, system: string, listed: ReadonlySet<number>): boolean {
  const npi = org.identifier?.find((i) => i.system === system)?.value ?? '';
  return /^\d{10}$/.test(npi) && listed.has(npiKey(npi));
}

function managerId(ep: Endpoint): string | undefined {
  return ep.managingOrganization?.reference?.replace(/^Organization\//, '');
}

async function managedEndpoints(ctx: FhirContext, organizationIds: string[]): Promise<Stored<Endpoint>[]> {
  const found: Stored<Endpoint>[] = [];
  for (let start = 0; start < organizationIds.length; start += LOOKUP_BATCH) {
    const batch = organizationIds.slice(start, start + LOOKUP_BATCH);
    const records = await searchEvery(ctx.store, endpointsManagedBy(batch));
    found.push(...records.map((r) => JSON.parse(r.content ?? '{}') as Stored<Endpoint>));
  }
  return found;
}

async function byId<T extends Resource>(ctx: FhirContext, type: string, ids: string[]): Promise<Stored<T>[]> {
  const unique = [...new Set(ids.filter((id) => id !== ''))];
  if (unique.length === 0) return [];
  const records = await searchEvery(ctx.store, {
    type,
    conditions: [{ kind: 'id', ids: unique }],
    sort: [],
    count: unique.length,
    withTotal: false,
  });
  return records.map((r) => JSON.parse(r.content ?? '{}') as Stored<T>);
}
