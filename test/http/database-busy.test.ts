/**
 * Reads never starve behind writes, and a request that cannot get a database connection in
 * DB_ACQUIRE_TIMEOUT_MS is answered 503 `transient` with Retry-After, on the real database.
 * Writers queue in the process before they take a connection (src/storage/write-queue.ts), so ten
 * queued writes hold at most one pooled connection and reads keep the rest.
 */
import { createPostgresStore } from '../../src/storage/postgres-store';
import { call, expectOutcome, issuesOf } from '../helpers/fhir-client';
import { openOwnDatabase, type OwnDatabase } from '../helpers/own-database';
import { organization } from '../helpers/resources';
import { slowStatements } from '../helpers/slow-statements';
import { onPostgres, startTestDirectory, type TestDirectory } from '../helpers/test-directory';

jest.setTimeout(60_000);

describe('ten queued writes and reads on a pool of 3', () => {
  let own: OwnDatabase;
  let dir: TestDirectory;
  beforeAll(async () => {
    own = await openOwnDatabase({ poolSize: 3 });
    // Each write spends 0.3 s inside its transaction, under the write lock.
    const db = slowStatements(own.db, { matches: /INSERT INTO resource_history/, seconds: 0.3 });
    dir = await startTestDirectory({ store: createPostgresStore(db), searchCacheMb: 0 });
    const seeded = await call('PUT', dir.url('/Organization/read-me'), organization({ id: 'read-me' }));
    expect(seeded.status).toBe(201);
  });
  afterAll(async () => {
    await dir.close();
    await own.cleanup();
  });

  test('reads are answered while the writes queue', async () => {
    const finished: string[] = [];
    const writes = Array.from({ length: 10 }, (_, i) =>
      call('PUT', dir.url(`/Organization/w${i}`), organization({ id: `w${i}`, name: `Writer ${i}` })).then(
        (res) => {
          finished.push('write');
          return res;
        },
      ),
    );
    // Once one write is done the other nine are queued behind the write lock.
    await Promise.race(writes);
    const reads = [
      call('GET', dir.url('/Organization/read-me')),
      call('GET', dir.url('/Organization?name=Valley')),
      call('GET', dir.url('/Organization/_history?_count=5')),
      call('GET', dir.url('/Organization/read-me')),
      call('GET', dir.url('/Organization?_id=read-me')),
    ].map((read) =>
      read.then((res) => {
        finished.push('read');
        return res;
      }),
    );
    for (const res of await Promise.all(reads)) expect(res.status).toBe(200);
    const writesDoneWhenReadsWere = finished.filter((what) => what === 'write').length;
    for (const res of await Promise.all(writes)) expect(res.status).toBe(201);
    // Every read was answered while most writes still waited their turn (on PGlite's one connection
    // reads and write transactions take turns; on PostgreSQL the reads had free connections).
    expect(writesDoneWhenReadsWere).toBeLessThanOrEqual(5);
  });
});

describe('a pool of 1 whose connection is held, DB_ACQUIRE_TIMEOUT_MS = 200', () => {
  let own: OwnDatabase;
  let dir: TestDirectory;
  beforeAll(async () => {
    own = await openOwnDatabase({ poolSize: 1, dbAcquireTimeoutMs: 200 });
    dir = await startTestDirectory({ store: createPostgresStore(own.db), searchCacheMb: 0 });
  });
  afterAll(async () => {
    await dir.close();
    await own.cleanup();
  });

  test('a read that cannot get a connection answers 503 `transient` with Retry-After (PostgreSQL)', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let holding: () => void = () => undefined;
    const taken = new Promise<void>((resolve) => {
      holding = resolve;
    });
    // Holds the only connection (on PGlite: the one connection's queue) until released.
    const holder = own.db.transaction(async () => {
      holding();
      await held;
    });
    await taken;
    const answer = call('GET', dir.url('/Organization/anything'));
    if (onPostgres()) {
      const res = await answer;
      release();
      await holder;
      expectOutcome(res, 503);
      expect(res.headers.get('retry-after')).toBe('1');
      const [first] = issuesOf(res);
      expect(first?.code).toBe('transient');
      expect(first?.diagnostics).toContain('DB_ACQUIRE_TIMEOUT_MS (200 ms)');
    } else {
      // PGlite has no pool: the read waits its turn in the queue and is answered once the holder ends.
      release();
      await holder;
      expect((await answer).status).toBe(404);
    }
    // The connection is free again: the next request is served.
    expect((await call('GET', dir.url('/Organization/anything'))).status).toBe(404);
  });
});
