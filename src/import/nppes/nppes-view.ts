/**
 * What the directory stores for one chunk of NPPES units, read in a few statements for the whole
 * chunk: the current rows at the chunk's derived ids (nppes-ids.ts) in one statement; for the NPIs
 * with no live Organization there, the Organizations carrying the source's identifier with that NPI
 * (adopted entries, entries imported before derived ids: one search per 100 NPIs); and the
 * Endpoints those manage. Read twice per chunk by the same code: before the write lock, to decide
 * and validate ahead (store reads), and under it, where the decision is made again on what is then
 * true (the write session, which keeps the rows it read for the writes).
 */
import type { Endpoint, Organization, Resource } from '@medplum/fhirtypes';
import type { ResourceKey, ResourceReader, VersionRecord, WriteSession } from '../../storage/resource-store';
import type { SearchQuery } from '../../storage/search-query';
import type { VendorUnit } from '../vendors/vendor-plan';

export type Stored<T extends Resource> = T & { id: string };

/** A unit with the ids derived for it. */
export interface KeyedUnit {
  npi: string;
  unit: VendorUnit;
  organizationId: string;
  /** The derived id of each of the unit's Endpoints, in the unit's order. */
  endpointIds: string[];
}

export interface NppesView {
  /** The live current entries at the chunk's ids, by `Type/id`. */
  current: Map<string, Stored<Resource>>;
  /** The change sequence of each version in `current`: what was read, to tell whether it moved. */
  seqs: Map<string, number>;
  /** For an NPI with no live Organization at its derived id: the live ones with the source's identifier and that NPI. */
  byNpi: Map<string, Stored<Organization>[]>;
  /** The live Endpoints each of those Organizations manages, by the Organization's id. */
  managed: Map<string, Stored<Endpoint>[]>;
}

/** How a view is read: before the write lock (store reads) or under it (the write session). */
export interface ViewReader {
  /** The current versions at these keys (deleted ones may be left out). */
  current(keys: ResourceKey[]): Promise<VersionRecord[]>;
  search: ResourceReader['search'];
}

/**
 * NPIs per look-up by identifier: a chunk's (about 280) in one statement. Their codes go to the
 * database as one array (search-sql.ts), whose planning does not grow with the values as ORed terms'
 * did (the batch was 100 for that); one statement instead of three per chunk read, under the write
 * lock and ahead of it: 5 % less PostgreSQL CPU and 5 % more rows/s on 100,000 rows, in turn.
 */
const LOOKUP_BATCH = 1000;

/** The search for the Endpoints that these Organizations manage (`Endpoint?organization=…`). */
export function endpointsManagedBy(organizationIds: string[]): SearchQuery {
  return {
    type: 'Endpoint',
    conditions: [
      {
        kind: 'reference',
        param: 'organization',
        values: organizationIds.map((id) => ({ type: 'Organization', id })),
      },
    ],
    sort: [],
    count: 200,
    withTotal: false,
  };
}

export function storeReader(reader: ResourceReader): ViewReader {
  return {
    async current(keys) {
      const records: VersionRecord[] = [];
      for (const type of new Set(keys.map((k) => k.resourceType))) {
        const ids = keys.filter((k) => k.resourceType === type).map((k) => k.id);
        records.push(
          ...(await searchEvery(reader, {
            type,
            conditions: [{ kind: 'id', ids }],
            sort: [],
            count: ids.length,
            withTotal: false,
          })),
        );
      }
      return records;
    },
    search: (query) => reader.search(query),
  };
}

export function sessionReader(session: WriteSession): ViewReader {
  return {
    async current(keys) {
      await session.prefetch(keys);
      const records: VersionRecord[] = [];
      for (const key of keys) {
        const record = await session.read(key.resourceType, key.id);
        if (record) records.push(record);
      }
      return records;
    },
    search: (query) => session.search(query),
  };
}

export async function readView(reader: ViewReader, units: KeyedUnit[], system: string): Promise<NppesView> {
  const view: NppesView = { current: new Map(), seqs: new Map(), byNpi: new Map(), managed: new Map() };
  const keys: ResourceKey[] = units.flatMap((u) => [
    { resourceType: 'Organization', id: u.organizationId },
    ...u.endpointIds.map((id) => ({ resourceType: 'Endpoint', id })),
  ]);
  for (const record of await reader.current(keys)) {
    setCurrent(view, record);
  }
  const absent = units.filter((u) => !view.current.has(`Organization/${u.organizationId}`)).map((u) => u.npi);
  for (const batch of batches(absent)) {
    const wanted = new Set(batch);
    const found = await searchEvery(reader, {
      type: 'Organization',
      conditions: [
        { kind: 'token', param: 'identifier', values: batch.map((npi) => ({ system, code: npi })) },
      ],
      sort: [],
      count: 200,
      withTotal: false,
    });
    for (const record of found) {
      const org = live(record) as Stored<Organization> | undefined;
      for (const npi of new Set(
        (org?.identifier ?? []).filter((i) => i.system === system).map((i) => i.value ?? ''),
      ))
        if (org && wanted.has(npi)) view.byNpi.set(npi, [...(view.byNpi.get(npi) ?? []), org]);
    }
  }
  const legacy = [...new Set([...view.byNpi.values()].flat().map((o) => o.id))];
  for (const batch of batches(legacy)) {
    const found = await searchEvery(reader, endpointsManagedBy(batch));
    for (const record of found) {
      const ep = live(record) as Stored<Endpoint> | undefined;
      const manager = ep?.managingOrganization?.reference?.replace(/^Organization\//, '');
      if (ep && manager) view.managed.set(manager, [...(view.managed.get(manager) ?? []), ep]);
    }
  }
  return view;
}

/** Puts what `record` says about its key in the view (a deletion: nothing live there). */
export function setCurrent(view: NppesView, record: VersionRecord): void {
  const key = `${record.resourceType}/${record.id}`;
  if (view.seqs.get(key) === record.seq) return;
  view.seqs.set(key, record.seq);
  const resource = live(record);
  if (resource) view.current.set(key, resource);
  else view.current.delete(key);
}

/** Every current resource a query finds, paged through. */
export async function searchEvery(
  reader: Pick<ResourceReader, 'search'>,
  query: SearchQuery,
): Promise<VersionRecord[]> {
  const found: VersionRecord[] = [];
  for (let page = query; ;) {
    const result = await reader.search(page);
    found.push(...result.records);
    if (!result.next) return found;
    page = { ...page, after: result.next };
  }
}

function live(record: VersionRecord): Stored<Resource> | undefined {
  return record.deleted || record.content === undefined
    ? undefined
    : (JSON.parse(record.content) as Stored<Resource>);
}

function batches<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += LOOKUP_BATCH) out.push(items.slice(i, i + LOOKUP_BATCH));
  return out;
}
