/**
 * The storage contract for many versions in one write: the session writes them behind, a few
 * multi-row statements for all of them (write-behind-session.ts), and keeps every promise a write
 * of one keeps. Runs on PGlite always and on PostgreSQL when DATABASE_URL is set.
 */
import type { Resource } from '@medplum/fhirtypes';
import { openTestStore, onPostgres } from '../helpers/test-directory';
import type { ResourceStore } from '../../src/storage/resource-store';
import type { SearchQuery } from '../../src/storage/search-query';
import { emptyIndexRows, type IndexRows } from '../../src/storage/search-index';

let store: ResourceStore;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ store, cleanup } = await openTestStore());
});
afterAll(async () => {
  await store.close();
  await cleanup();
});

const org = (id: string, name: string): Resource => ({ resourceType: 'Organization', id, name });
const nameRows = (name: string): IndexRows => ({
  ...emptyIndexRows(),
  string: [{ param: 'name', norm: name.toLowerCase(), exact: name }],
});
const byName = (name: string): SearchQuery => ({
  type: 'Organization',
  conditions: [{ kind: 'string', param: 'name', mode: 'exact', values: [name] }],
  sort: [],
  count: 1000,
  withTotal: true,
});

describe(`Writing many versions in one transaction on ${onPostgres() ? 'PostgreSQL' : 'PGlite'}`, () => {
  it('numbers versions, orders the change sequence, replaces index rows and records deletions', async () => {
    const before = await store.head();
    await store.write(async (s) => {
      for (let i = 0; i < 5; i++)
        await s.writeVersion({
          resourceType: 'Organization',
          id: `old-${i}`,
          method: 'PUT',
          resource: org(`old-${i}`, 'Old Name'),
          index: nameRows('Old Name'),
        });
    });
    const written = await store.write(async (s) => {
      const out = [];
      for (let i = 0; i < 300; i++)
        out.push(
          await s.writeVersion({
            resourceType: 'Organization',
            id: `many-${i}`,
            method: 'POST',
            resource: org(`many-${i}`, 'Batch Name'),
            index: nameRows('Batch Name'),
          }),
        );
      // The same resource twice in one transaction: versions 1 and 2, the index rows of the second.
      out.push(
        await s.writeVersion({
          resourceType: 'Organization',
          id: 'many-0',
          method: 'PUT',
          resource: org('many-0', 'Renamed'),
          index: nameRows('Renamed'),
        }),
      );
      for (let i = 0; i < 5; i++)
        out.push(
          await s.writeVersion({
            resourceType: 'Organization',
            id: `old-${i}`,
            method: 'PUT',
            resource: org(`old-${i}`, 'New Name'),
            index: nameRows('New Name'),
          }),
        );
      out.push(
        await s.writeVersion({
          resourceType: 'Organization',
          id: 'many-1',
          method: 'DELETE',
          resource: null,
        }),
      );
      return out;
    });

    expect(written).toHaveLength(307);
    const seqs = written.map((w) => w.seq);
    expect(seqs[0]).toBeGreaterThan(before.seq);
    // Gapless and in the order written.
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i));
    expect((await store.head()).seq).toBe(seqs[seqs.length - 1]);
    expect(written.slice(0, 300).every((w) => w.versionId === 1)).toBe(true);
    expect(written[300]?.versionId).toBe(2);
    expect(written.slice(301, 306).every((w) => w.versionId === 2)).toBe(true);
    expect(written[306]).toMatchObject({ versionId: 2, deleted: true });

    expect((await store.read('Organization', 'many-0'))?.content).toBe(written[300]?.content);
    expect(JSON.parse((await store.vread('Organization', 'many-0', 1))?.content as string)).toMatchObject({
      name: 'Batch Name',
      meta: { versionId: '1' },
    });
    expect(await store.read('Organization', 'many-1')).toMatchObject({ deleted: true, versionId: 2 });

    // Index rows: the batch's searchable, the replaced ones gone, the deleted and renamed not found.
    expect((await store.search(byName('Batch Name'))).total).toBe(298);
    expect((await store.search(byName('Renamed'))).records.map((r) => r.id)).toEqual(['many-0']);
    expect((await store.search(byName('Old Name'))).total).toBe(0);
    expect((await store.search(byName('New Name'))).total).toBe(5);

    // History holds every version, newest first, in change order.
    const history = await store.history({ count: 1000 });
    const ours = history.entries.filter((e) => e.seq > before.seq + 5);
    expect(ours.map((e) => e.seq)).toEqual([...seqs].reverse());
  });

  it('lets a search inside the transaction see the versions written before it', async () => {
    const found = await store.write(async (s) => {
      await s.writeVersion({
        resourceType: 'Organization',
        id: 'seen-1',
        method: 'POST',
        resource: org('seen-1', 'Seen Inside'),
        index: nameRows('Seen Inside'),
      });
      return (await s.search(byName('Seen Inside'))).records.map((r) => r.id);
    });
    expect(found).toEqual(['seen-1']);
  });

  it('reads prefetched and written resources inside the transaction as they now are', async () => {
    await store.write(async (s) => {
      await s.prefetch([
        { resourceType: 'Organization', id: 'old-0' },
        { resourceType: 'Organization', id: 'never-used' },
      ]);
      expect(await s.read('Organization', 'never-used')).toBeUndefined();
      expect((await s.read('Organization', 'old-0'))?.versionId).toBe(2);
      await s.writeVersion({
        resourceType: 'Organization',
        id: 'old-0',
        method: 'PUT',
        resource: org('old-0', 'Third'),
        index: nameRows('Third'),
      });
      expect((await s.read('Organization', 'old-0'))?.versionId).toBe(3);
      expect(JSON.parse((await s.vread('Organization', 'old-0', 3))?.content as string).name).toBe('Third');
    });
  });

  it('stores nothing of a batch when one of its rows is refused', async () => {
    const before = await store.head();
    await expect(
      store.write(async (s) => {
        for (let i = 0; i < 50; i++)
          await s.writeVersion({
            resourceType: 'Organization',
            id: `refused-${i}`,
            method: 'POST',
            resource: org(`refused-${i}`, 'Refused'),
            index: nameRows('Refused'),
          });
        // The database refuses this date when the rows are written, at the end of the transaction.
        await s.writeVersion({
          resourceType: 'Organization',
          id: 'refused-bad',
          method: 'POST',
          resource: org('refused-bad', 'Refused'),
          index: { ...emptyIndexRows(), date: [{ param: 'x', lo: 'not a date', hi: 'infinity' }] },
        });
      }),
    ).rejects.toThrow();
    expect(await store.head()).toEqual(before);
    expect(await store.read('Organization', 'refused-0')).toBeUndefined();
    expect((await store.search(byName('Refused'))).total).toBe(0);
    const next = await store.write((s) =>
      s.writeVersion({
        resourceType: 'Organization',
        id: 'after-refusal',
        method: 'PUT',
        resource: org('after-refusal', 'x'),
      }),
    );
    expect(next.seq).toBeGreaterThan(before.seq);
  });
});
