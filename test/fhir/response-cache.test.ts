/**
 * The response cache's own rules, with a hand-driven head instead of a database: when an entry is
 * served, how head reads are shared without ever using one that started before the caller asked,
 * and how memory is bounded. The HTTP journeys (test/http/search-cache.test.ts) show the same on a
 * real server and database.
 */
import { OrderedHeadReader } from '../../src/fhir/search/ordered-head-reader';
import { ResponseCache, canonicalQuery } from '../../src/fhir/search/response-cache';
import type { StoreHead } from '../../src/storage/resource-store';

/** A head the test moves by hand, and a record of every read of it. */
function fakeHead(): { read: () => Promise<StoreHead>; head: StoreHead; reads: number } {
  const state = {
    head: { seq: 1, epoch: 0 },
    reads: 0,
    read(): Promise<StoreHead> {
      state.reads += 1;
      return Promise.resolve({ ...state.head });
    },
  };
  return state;
}

/** A head read the test answers by hand, to hold reads in flight. */
function manualHead(): {
  read: () => Promise<StoreHead>;
  started: { resolve: (head: StoreHead) => void }[];
} {
  const started: { resolve: (head: StoreHead) => void }[] = [];
  return {
    started,
    read: () => new Promise<StoreHead>((resolve) => started.push({ resolve })),
  };
}

const bundle = (n: number): string =>
  `{"resourceType":"Bundle","type":"searchset","timestamp":"2020-01-01T00:00:00.000Z","total":${n}}`;

describe('ResponseCache', () => {
  it('serves an entry only while the head is the one read before it was computed', async () => {
    const head = fakeHead();
    const cache = new ResponseCache({ readHead: head.read, maxBytes: 1 << 20 });
    let computed = 0;
    const compute = (): Promise<string> => Promise.resolve(bundle(++computed));

    expect(await cache.answer('k', compute)).toMatchObject({ status: 'miss' });
    expect(await cache.answer('k', compute)).toMatchObject({ status: 'hit' });
    head.head = { seq: 2, epoch: 0 }; // a write committed
    const afterWrite = await cache.answer('k', compute);
    expect(afterWrite.status).toBe('miss');
    expect(JSON.parse(afterWrite.body).total).toBe(2);
    head.head = { seq: 2, epoch: 1 }; // a reindex batch committed
    expect(await cache.answer('k', compute)).toMatchObject({ status: 'miss' });
    expect(await cache.answer('k', compute)).toMatchObject({ status: 'hit' });
    expect(computed).toBe(3);
  });

  it('keeps an answer that names the types it read while only other types are written', async () => {
    const head = fakeHead();
    // The changes the test says were made, by sequence: 2 and 3 Endpoint, 4 Organization.
    const changes = new Map([
      [2, 'Endpoint'],
      [3, 'Endpoint'],
      [4, 'Organization'],
    ]);
    const asked: string[] = [];
    const typesChanged = (after: number, upto: number): Promise<Set<string>> => {
      asked.push(`${after}:${upto}`);
      return Promise.resolve(
        new Set([...changes].filter(([seq]) => seq > after && seq <= upto).map(([, type]) => type)),
      );
    };
    const cache = new ResponseCache({ readHead: head.read, maxBytes: 1 << 20, typesChanged });
    let computed = 0;
    const orgs = (): Promise<{ text: string; types: string[] }> =>
      Promise.resolve({ text: bundle(++computed), types: ['Organization'] });
    const untyped = (): Promise<string> => Promise.resolve(bundle(++computed));
    await cache.answer('orgs', orgs);
    await cache.answer('any', untyped);
    head.head = { seq: 2, epoch: 0 }; // an Endpoint write
    expect(await cache.answer('orgs', orgs)).toMatchObject({ status: 'hit' });
    expect(await cache.answer('any', untyped)).toMatchObject({ status: 'miss' });
    head.head = { seq: 3, epoch: 0 }; // another: asked from the head the entry was last found at
    expect(await cache.answer('orgs', orgs)).toMatchObject({ status: 'hit' });
    expect(await cache.answer('orgs', orgs)).toMatchObject({ status: 'hit' }); // same heads: not asked again
    expect(asked).toEqual(['1:2', '2:3']);
    head.head = { seq: 4, epoch: 0 }; // an Organization write
    expect(await cache.answer('orgs', orgs)).toMatchObject({ status: 'miss' });
    expect(await cache.answer('orgs', orgs)).toMatchObject({ status: 'hit' });
    head.head = { seq: 4, epoch: 1 }; // a reindex batch
    expect(await cache.answer('orgs', orgs)).toMatchObject({ status: 'miss' });
    expect(computed).toBe(5);
  });

  it('tags a Bundle with its key and the head it was computed at, kept while the entry is', async () => {
    const head = fakeHead();
    const changes = new Map([
      [2, 'Endpoint'],
      [3, 'Organization'],
    ]);
    const typesChanged = (after: number, upto: number): Promise<Set<string>> =>
      Promise.resolve(
        new Set([...changes].filter(([seq]) => seq > after && seq <= upto).map(([, type]) => type)),
      );
    const cache = new ResponseCache({ readHead: head.read, maxBytes: 1 << 20, typesChanged });
    const orgs = (): Promise<{ text: string; types: string[] }> =>
      Promise.resolve({ text: bundle(1), types: ['Organization'] });
    const etagOf = async (key: string): Promise<string | undefined> =>
      (await cache.answer(key, orgs)).headers?.etag;

    const first = await etagOf('orgs');
    expect(first).toMatch(/^W\/"[A-Za-z0-9_-]{27}"$/);
    expect(await etagOf('orgs')).toBe(first); // a hit
    expect(await etagOf('other query')).not.toBe(first); // another key, same head
    head.head = { seq: 2, epoch: 0 }; // an Endpoint write: the same answer, the same tag
    expect(await etagOf('orgs')).toBe(first);
    head.head = { seq: 3, epoch: 0 }; // an Organization write: computed again, a new tag
    const second = await etagOf('orgs');
    expect(second).not.toBe(first);
    // Another process (an empty cache) computing the same key at the same head tags it alike.
    const elsewhere = new ResponseCache({ readHead: head.read, maxBytes: 1 << 20, typesChanged });
    expect((await elsewhere.answer('orgs', orgs)).headers?.etag).toBe(second);
    head.head = { seq: 3, epoch: 1 }; // a reindex
    expect(await etagOf('orgs')).not.toBe(second);
  });

  it('keeps the ETag of an answer that brings its own (a read)', async () => {
    const cache = new ResponseCache({ readHead: fakeHead().read, maxBytes: 1 << 20 });
    const read = (): Promise<{ text: string; headers: Record<string, string>; timestamp: false }> =>
      Promise.resolve({
        text: '{"resourceType":"Organization"}',
        headers: { etag: 'W/"4"' },
        timestamp: false,
      });
    expect((await cache.answer('r', read)).headers).toEqual({ etag: 'W/"4"' });
    expect((await cache.answer('r', read)).headers).toEqual({ etag: 'W/"4"' });
  });

  it('computes again when the store cannot say which types changed', async () => {
    const head = fakeHead();
    const cache = new ResponseCache({
      readHead: head.read,
      maxBytes: 1 << 20,
      typesChanged: () => Promise.reject(new Error('database gone')),
    });
    const orgs = (): Promise<{ text: string; types: string[] }> =>
      Promise.resolve({ text: bundle(1), types: ['Organization'] });
    await cache.answer('orgs', orgs);
    head.head = { seq: 2, epoch: 0 };
    expect(await cache.answer('orgs', orgs)).toMatchObject({ status: 'miss' });
  });

  it('stores an answer under the head read before computing it, so a write during the search is never hidden', async () => {
    const head = fakeHead();
    const cache = new ResponseCache({ readHead: head.read, maxBytes: 1 << 20 });
    // The write commits while the search runs: the search may or may not have seen it.
    await cache.answer('k', () => {
      head.head = { seq: 2, epoch: 0 };
      return Promise.resolve(bundle(1));
    });
    // The entry is filed under seq 1, the head now is 2: never served.
    expect(await cache.answer('k', () => Promise.resolve(bundle(2)))).toMatchObject({ status: 'miss' });
  });

  it('puts the current time in the Bundle timestamp of a hit', async () => {
    const head = fakeHead();
    let now = '2030-05-06T07:08:09.010Z';
    const cache = new ResponseCache({ readHead: head.read, maxBytes: 1 << 20, now: () => now });
    await cache.answer('k', () => Promise.resolve(bundle(7)));
    now = '2031-01-02T03:04:05.006Z';
    const hit = await cache.answer('k', () => Promise.resolve(bundle(8)));
    expect(hit.status).toBe('hit');
    expect(JSON.parse(hit.body)).toEqual({
      resourceType: 'Bundle',
      type: 'searchset',
      timestamp: '2031-01-02T03:04:05.006Z',
      total: 7,
    });
  });

  it('does not cache failures', async () => {
    const cache = new ResponseCache({ readHead: fakeHead().read, maxBytes: 1 << 20 });
    await expect(cache.answer('k', () => Promise.reject(new Error('bad search')))).rejects.toThrow(
      'bad search',
    );
    expect(await cache.answer('k', () => Promise.resolve(bundle(1)))).toMatchObject({ status: 'miss' });
    expect(cache.stats().entries).toBe(1);
  });

  it('evicts the least recently used entries to stay within its byte budget', async () => {
    const head = fakeHead();
    const text = bundle(1);
    // UTF-8 bytes of the Bundle, the UTF-16 key, its ETag header (W/"…": 31 characters) and 200
    // for the map's bookkeeping.
    const entryBytes = Buffer.byteLength(text) + 2 * 'a'.length + 2 * ('etag'.length + 31) + 200;
    const cache = new ResponseCache({ readHead: head.read, maxBytes: entryBytes * 2 });
    const compute = (): Promise<string> => Promise.resolve(text);
    await cache.answer('a', compute);
    await cache.answer('b', compute);
    await cache.answer('a', compute); // a is now the most recently used
    await cache.answer('c', compute); // over budget: b goes
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: entryBytes * 2, evictions: 1 });
    expect(await cache.answer('a', compute)).toMatchObject({ status: 'hit' });
    expect(await cache.answer('c', compute)).toMatchObject({ status: 'hit' });
    expect(await cache.answer('b', compute)).toMatchObject({ status: 'miss' });
  });

  it('never stores an answer larger than the whole budget', async () => {
    const cache = new ResponseCache({ readHead: fakeHead().read, maxBytes: 100 });
    await cache.answer('k', () => Promise.resolve(bundle(1)));
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
    expect(await cache.answer('k', () => Promise.resolve(bundle(1)))).toMatchObject({ status: 'miss' });
  });

  it('lets identical requests at the same head share one computation', async () => {
    const cache = new ResponseCache({ readHead: fakeHead().read, maxBytes: 1 << 20 });
    let computed = 0;
    let finish: (text: string) => void = () => undefined;
    const slow = (): Promise<string> => {
      computed += 1;
      return new Promise<string>((resolve) => (finish = resolve));
    };
    const first = cache.answer('k', slow);
    const second = cache.answer('k', slow);
    await new Promise((resolve) => setImmediate(resolve));
    finish(bundle(1));
    expect((await first).body).toBe(bundle(1));
    expect(JSON.parse((await second).body).total).toBe(1);
    expect(computed).toBe(1);
  });
});

/** Lets the event loop finish its turn: a waiting head read starts (setImmediate) before this resolves. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('OrderedHeadReader', () => {
  it('never answers a caller with a read that started before it called', async () => {
    const db = manualHead();
    const reader = new OrderedHeadReader(db.read);
    const a = reader.read();
    expect(db.started).toHaveLength(0); // not before the callers arriving with a are in
    await nextTurn();
    expect(db.started).toHaveLength(1); // read 1, for a
    const b = reader.read(); // read 1 is in flight: b waits for read 2
    const c = reader.read(); // shares read 2 with b
    db.started[0]?.resolve({ seq: 1, epoch: 0 });
    expect(await a).toEqual({ seq: 1, epoch: 0 });
    await nextTurn();
    expect(db.started).toHaveLength(2); // read 2 started once read 1 finished
    const d = reader.read(); // read 2 is in flight: d waits for read 3
    db.started[1]?.resolve({ seq: 2, epoch: 0 });
    expect(await b).toEqual({ seq: 2, epoch: 0 });
    expect(await c).toEqual({ seq: 2, epoch: 0 });
    await nextTurn();
    db.started[2]?.resolve({ seq: 3, epoch: 0 });
    expect(await d).toEqual({ seq: 3, epoch: 0 });
    expect(db.started).toHaveLength(3);
  });

  it('lets every caller of one turn of the event loop share one read, and keeps one waiting at most', async () => {
    const db = manualHead();
    const reader = new OrderedHeadReader(db.read);
    const burst = Array.from({ length: 50 }, () => reader.read());
    await nextTurn();
    expect(db.started).toHaveLength(1);
    const meanwhile = Array.from({ length: 50 }, () => reader.read());
    db.started[0]?.resolve({ seq: 1, epoch: 0 });
    // The answer's turn brings more callers: they share the waiting read, which starts after them.
    await Promise.resolve();
    const withTheAnswer = reader.read();
    expect(await Promise.all(burst)).toEqual(burst.map(() => ({ seq: 1, epoch: 0 })));
    await nextTurn();
    expect(db.started).toHaveLength(2);
    db.started[1]?.resolve({ seq: 2, epoch: 0 });
    expect(await Promise.all([...meanwhile, withTheAnswer])).toEqual(
      [...meanwhile, withTheAnswer].map(() => ({ seq: 2, epoch: 0 })),
    );
    expect(db.started).toHaveLength(2);
  });

  it('passes a failed read to its callers, and the next caller reads again', async () => {
    let fail = true;
    const reader = new OrderedHeadReader(() =>
      fail ? Promise.reject(new Error('database down')) : Promise.resolve({ seq: 5, epoch: 0 }),
    );
    await expect(reader.read()).rejects.toThrow('database down');
    fail = false;
    expect(await reader.read()).toEqual({ seq: 5, epoch: 0 });
  });

  it('passes a read that throws instead of rejecting to its callers as a rejection', async () => {
    const reader = new OrderedHeadReader(() => {
      throw new Error('no connection');
    });
    await expect(reader.read()).rejects.toThrow('no connection');
  });
});

describe('canonicalQuery', () => {
  it('orders parameters by name and keeps the order of values of one name', () => {
    const q = new URLSearchParams('name=b&_include=X:y&address-state=CA&name=a&_include=X:z');
    expect(canonicalQuery(q).toString()).toBe('_include=X%3Ay&_include=X%3Az&address-state=CA&name=b&name=a');
  });
});
