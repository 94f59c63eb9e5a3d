/**
 * A published list kept current (DESIGN.md, "Who owns an entry"): imported as a source, a newer
 * publication applies exactly its difference. The snapshots are Oracle Health's Soarian list
 * (test/fixtures/hti1, 7 Organizations each referencing its Endpoint) and a second one DERIVED from it
 * (test/helpers/soarian-snapshots.ts), for a controlled difference: the last Organization and its Endpoint removed, the first
 * Organization renamed, and one new Organization with a new Endpoint added.
 */
import type { Bundle, Endpoint, Organization, Provenance } from '@medplum/fhirtypes';
import { importResources, type ImportReport } from '../../src/import/import-resources';
import { parseImportDocument } from '../../src/import/read-import-file';
import { call } from '../helpers/fhir-client';
import { versionCount } from '../helpers/import-report';
import { firstSnapshot, secondSnapshot } from '../helpers/soarian-snapshots';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const SOURCE = { name: 'oracle-soarian', uri: 'urn:fhir-directory:source:oracle-soarian' };

let dir: TestDirectory;
let first: Bundle;
let second: Bundle;

async function importSnapshot(bundle: Bundle, deleteMissing = false): Promise<ImportReport> {
  const { items, bundle: shape } = parseImportDocument(JSON.stringify(bundle));
  return importResources(dir.ctx, items, {
    ...(shape ? { bundle: shape } : {}),
    owner: SOURCE,
    list: SOURCE,
    deleteMissing,
  });
}

const outcome = (r: ImportReport) => ({
  created: r.created,
  updated: r.updated,
  unchanged: r.unchanged,
  rejected: r.rejected.length,
  conflicts: r.conflicts.length,
  retired: r.retired,
  deleted: r.deleted,
});

beforeAll(async () => {
  dir = await startTestDirectory();
  await dir.store.sources.upsert({ ...SOURCE, kind: 'hti1' });
  first = await firstSnapshot();
  second = secondSnapshot(first);
}, 120_000);

afterAll(() => dir?.close());

describe('a published list imported as a source', () => {
  it('owns what it creates: meta.source is its uri, the Provenance agent is the source', async () => {
    expect(outcome(await importSnapshot(first))).toEqual({
      created: 14,
      updated: 0,
      unchanged: 0,
      rejected: 0,
      conflicts: 0,
      retired: 0,
      deleted: 0,
    });
    const res = await call('GET', dir.url('/Endpoint?_count=100'));
    expect(res.body.entry).toHaveLength(7);
    for (const e of res.body.entry as Array<{ resource: Endpoint }>)
      expect(e.resource.meta?.source).toBe(SOURCE.uri);
    const id = (res.body.entry[0].resource as Endpoint).id;
    const prov = await call('GET', dir.url(`/Provenance?target=Endpoint/${id}`));
    expect((prov.body.entry[0].resource as Provenance).agent[0]?.who?.identifier).toEqual({
      system: 'urn:fhir-directory:source',
      value: SOURCE.name,
    });
  });

  it('changes nothing when the same publication is imported again', async () => {
    const before = await versionCount(dir.store);
    expect(outcome(await importSnapshot(first))).toEqual({
      created: 0,
      updated: 0,
      unchanged: 14,
      rejected: 0,
      conflicts: 0,
      retired: 0,
      deleted: 0,
    });
    expect(await versionCount(dir.store)).toBe(before);
  });

  it('applies exactly the difference of the next publication, retiring what it no longer lists', async () => {
    const before = await versionCount(dir.store);
    // New pair: 2 created; renamed Organization: 1 updated; 5 other Organizations and 6 Endpoints
    // unchanged; the removed Organization (active false) and its Endpoint (status off): 2 retired.
    expect(outcome(await importSnapshot(second))).toEqual({
      created: 2,
      updated: 1,
      unchanged: 11,
      rejected: 0,
      conflicts: 0,
      retired: 2,
      deleted: 0,
    });
    expect(await versionCount(dir.store)).toBe(before + 5);
    const off = await call('GET', dir.url('/Endpoint?status=off'));
    expect(off.body.entry).toHaveLength(1);
    const retired = off.body.entry[0].resource as Endpoint;
    const prov = await call('GET', dir.url(`/Provenance?target=Endpoint/${retired.id}&_count=10`));
    const reasons = (prov.body.entry as Array<{ resource: Provenance }>).flatMap(
      (e) => e.resource.reason ?? [],
    );
    expect(reasons).toEqual([{ text: `no longer listed by source ${SOURCE.name}: retired` }]);
    const inactive = await call('GET', dir.url('/Organization?active=false'));
    expect(inactive.body.entry).toHaveLength(1);
    // Importing the same publication again: nothing to create, change or retire.
    const again = await versionCount(dir.store);
    expect(outcome(await importSnapshot(second))).toEqual({
      created: 0,
      updated: 0,
      unchanged: 14,
      rejected: 0,
      conflicts: 0,
      retired: 0,
      deleted: 0,
    });
    expect(await versionCount(dir.store)).toBe(again);
  });

  it('with --delete-missing deletes instead; what comes back is made current again', async () => {
    // Back to the first publication: the new pair is not listed (2 deleted); the removed pair is
    // back (Organization active again, Endpoint active again) and the rename undone: 3 updated.
    expect(outcome(await importSnapshot(first, true))).toEqual({
      created: 0,
      updated: 3,
      unchanged: 11,
      rejected: 0,
      conflicts: 0,
      retired: 0,
      deleted: 2,
    });
    const gone = await call('GET', dir.url('/Organization?name=New%20Clinic'));
    expect(gone.body.entry ?? []).toHaveLength(0);
  });

  it('never overwrites an entry owned locally: the conflict is reported and nothing is written for it', async () => {
    // A local client's Organization that carries the list's identifier of the first Organization.
    const org = first.entry?.find((e) => e.resource?.resourceType === 'Organization');
    const key = org?.fullUrl as string;
    const stored = await call(
      'GET',
      dir.url(`/Organization?identifier=${encodeURIComponent(`${SOURCE.uri}|${key}`)}`),
    );
    const mine = stored.body.entry[0].resource as Organization;
    const { meta: _meta, ...withoutMeta } = mine;
    // Made local by a client while the source is not registered (meta.source dropped).
    const put = await call('PUT', dir.url(`/Organization/${mine.id}`), {
      ...withoutMeta,
      name: 'Locally Edited',
    });
    expect(put.status).toBe(403); // an admin may not change a registered source's entry
    await dir.store.sources.remove(SOURCE.name);
    const local = await call('PUT', dir.url(`/Organization/${mine.id}`), {
      ...withoutMeta,
      name: 'Locally Edited',
    });
    expect(local.status).toBe(200);
    await dir.store.sources.upsert({ ...SOURCE, kind: 'hti1' });
    const report = await importSnapshot(first);
    // That Organization and the Endpoint it manages are in conflict; the other 12 unchanged.
    expect(outcome(report)).toEqual({
      created: 0,
      updated: 0,
      unchanged: 12,
      rejected: 0,
      conflicts: 2,
      retired: 0,
      deleted: 0,
    });
    expect(report.conflicts[0]?.message).toBe(`Organization/${mine.id} is owned by a local client`);
    const after = await call('GET', dir.url(`/Organization/${mine.id}`));
    expect(after.body.name).toBe('Locally Edited');
  });
});
