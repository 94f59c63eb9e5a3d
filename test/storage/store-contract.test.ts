/**
 * The storage contract: what every ResourceStore promises, run on PGlite always and on PostgreSQL
 * when DATABASE_URL is set (CI runs the suite both ways).
 */
import type { Resource } from '@medplum/fhirtypes';
import { openTestStore, onPostgres } from '../helpers/test-directory';
import type { ResourceStore } from '../../src/storage/resource-store';

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

describe(`ResourceStore on ${onPostgres() ? 'PostgreSQL' : 'PGlite'}`, () => {
  it('numbers versions from 1 and stamps lastUpdated from the database clock', async () => {
    const v1 = await store.write((s) =>
      s.writeVersion({ resourceType: 'Organization', id: 'c1', method: 'PUT', resource: org('c1', 'one') }),
    );
    const v2 = await store.write((s) =>
      s.writeVersion({ resourceType: 'Organization', id: 'c1', method: 'PUT', resource: org('c1', 'two') }),
    );
    expect([v1.versionId, v2.versionId]).toEqual([1, 2]);
    expect(v2.seq).toBeGreaterThan(v1.seq);
    expect(Date.parse(v2.lastUpdated)).toBeGreaterThanOrEqual(Date.parse(v1.lastUpdated));
    expect(JSON.parse(v2.content as string).meta).toEqual({ versionId: '2', lastUpdated: v2.lastUpdated });
    const current = await store.read('Organization', 'c1');
    expect(current?.versionId).toBe(2);
    expect((await store.vread('Organization', 'c1', 1))?.content).toBe(v1.content);
  });

  it('keeps the stored JSON text exactly, key order included', async () => {
    const resource = { resourceType: 'Organization', id: 'order', name: 'Z', active: true } as Resource;
    const written = await store.write((s) =>
      s.writeVersion({ resourceType: 'Organization', id: 'order', method: 'PUT', resource }),
    );
    const read = await store.read('Organization', 'order');
    expect(read?.content).toBe(written.content);
    expect(Object.keys(JSON.parse(read?.content as string))).toEqual([
      'resourceType',
      'id',
      'name',
      'active',
      'meta',
    ]);
  });

  it('rolls back every write of a failed transaction', async () => {
    await expect(
      store.write(async (s) => {
        await s.writeVersion({
          resourceType: 'Organization',
          id: 'rb1',
          method: 'PUT',
          resource: org('rb1', 'a'),
        });
        await s.writeVersion({
          resourceType: 'Organization',
          id: 'rb2',
          method: 'PUT',
          resource: org('rb2', 'b'),
        });
        throw new Error('entry 3 failed');
      }),
    ).rejects.toThrow('entry 3 failed');
    expect(await store.read('Organization', 'rb1')).toBeUndefined();
    expect(await store.read('Organization', 'rb2')).toBeUndefined();
    const history = await store.history({ id: 'rb1', type: 'Organization', count: 10 });
    expect(history.entries).toHaveLength(0);
  });

  it('records a deletion as a version without content and keeps the row for 410', async () => {
    await store.write((s) =>
      s.writeVersion({
        resourceType: 'Endpoint',
        id: 'd1',
        method: 'POST',
        resource: { resourceType: 'Endpoint', id: 'd1' } as Resource,
      }),
    );
    const deleted = await store.write((s) =>
      s.writeVersion({ resourceType: 'Endpoint', id: 'd1', method: 'DELETE', resource: null }),
    );
    expect([deleted.versionId, deleted.deleted, deleted.content]).toEqual([2, true, undefined]);
    const current = await store.read('Endpoint', 'd1');
    expect([current?.deleted, current?.versionId]).toEqual([true, 2]);
    const history = await store.history({ type: 'Endpoint', id: 'd1', count: 10 });
    expect(history.entries.map((e) => [e.versionId, e.method, e.deleted])).toEqual([
      [2, 'DELETE', true],
      [1, 'POST', false],
    ]);
  });

  it('allocates the change sequence in commit order: concurrent writers never leave a gap behind a reader', async () => {
    const start = await store.history({ count: 1 });
    const floor = start.entries[0]?.seq ?? 0;
    await Promise.all(
      Array.from({ length: 25 }, (_, n) =>
        store.write(async (s) => {
          await s.writeVersion({
            resourceType: 'Organization',
            id: `race-${n % 5}`,
            method: 'PUT',
            resource: org(`race-${n % 5}`, `n${n}`),
          });
        }),
      ),
    );
    const page = await store.history({ count: 100 });
    const seqs = page.entries.filter((e) => e.seq > floor).map((e) => e.seq);
    expect(seqs).toHaveLength(25);
    // Strictly decreasing, newest first; and the versions of each id are consecutive.
    expect(seqs.every((s, i) => i === 0 || s < (seqs[i - 1] as number))).toBe(true);
    for (let k = 0; k < 5; k++) {
      const versions = page.entries
        .filter((e) => e.id === `race-${k}` && e.seq > floor)
        .map((e) => e.versionId)
        .sort((a, b) => a - b);
      expect(versions).toEqual([1, 2, 3, 4, 5]);
    }
  });

  it('pages history by keyset: every version exactly once', async () => {
    const all: number[] = [];
    let beforeSeq: number | undefined;
    for (;;) {
      const page = await store.history({ count: 4, ...(beforeSeq === undefined ? {} : { beforeSeq }) });
      all.push(...page.entries.map((e) => e.seq));
      if (page.nextBeforeSeq === undefined) break;
      beforeSeq = page.nextBeforeSeq;
    }
    const everything = await store.history({ count: 1000 });
    expect(all).toEqual(everything.entries.map((e) => e.seq));
  });

  it('searches by id and lastUpdated ranges, excluding deleted resources, with keyset pages', async () => {
    const ids = ['s-a', 's-b', 's-c'];
    for (const id of ids)
      await store.write((s) =>
        s.writeVersion({
          resourceType: 'Location',
          id,
          method: 'PUT',
          resource: { resourceType: 'Location', id },
        }),
      );
    await store.write((s) =>
      s.writeVersion({ resourceType: 'Location', id: 's-b', method: 'DELETE', resource: null }),
    );
    const byIds = { type: 'Location', conditions: [{ kind: 'id' as const, ids }], sort: [], withTotal: true };
    const page1 = await store.search({ ...byIds, count: 1 });
    expect(page1.total).toBe(2);
    expect(page1.records.map((r) => r.id)).toEqual(['s-a']);
    const page2 = await store.search({ ...byIds, count: 1, ...(page1.next ? { after: page1.next } : {}) });
    expect(page2.records.map((r) => r.id)).toEqual(['s-c']);
    expect(page2.next).toBeUndefined();
    const none = await store.search({
      type: 'Location',
      conditions: [
        {
          kind: 'lastUpdated',
          filters: [
            { prefix: 'lt', range: { start: '2000-01-01T00:00:00.000Z', end: '2001-01-01T00:00:00.000Z' } },
          ],
        },
      ],
      sort: [],
      count: 10,
      withTotal: false,
    });
    expect(none.records).toHaveLength(0);
    expect(await store.count('Location')).toBe(2);
  });
});
