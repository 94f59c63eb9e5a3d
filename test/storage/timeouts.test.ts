/**
 * STATEMENT_TIMEOUT_MS and cancellation, on the real database. PostgreSQL cuts a statement at the
 * timeout (503 `timeout` naming STATEMENT_TIMEOUT_MS) and cancels one whose HTTP client went away;
 * maintenance (migrations, VACUUM) runs with no timeout. PGlite honours neither statement_timeout nor
 * a cancel of a running statement (WASM, one thread): the tests say so, and that a statement whose
 * caller gave up while it waited in PGlite's queue never runs.
 */
import { request } from 'node:http';
import { createPostgresStore } from '../../src/storage/postgres-store';
import type { SqlClient } from '../../src/storage/sql-client';
import { QueryCancelledError, StatementTimeoutError } from '../../src/storage/storage-errors';
import { call, expectOutcome, issuesOf } from '../helpers/fhir-client';
import { openOwnDatabase, type OwnDatabase } from '../helpers/own-database';
import { slowStatements } from '../helpers/slow-statements';
import { onPostgres, startTestDirectory, type TestDirectory } from '../helpers/test-directory';

jest.setTimeout(60_000);

const SLOW_SEARCH = /FROM search_string/;

async function until(what: string, check: () => Promise<boolean>, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`never happened: ${what}`);
}

describe('the SQL client under STATEMENT_TIMEOUT_MS = 500', () => {
  let own: OwnDatabase;
  let db: SqlClient;
  beforeAll(async () => {
    own = await openOwnDatabase({ statementTimeoutMs: 500, poolSize: 1 });
    db = own.db;
  });
  afterAll(async () => {
    await db.close();
    await own.cleanup();
  });

  test('a statement over the timeout is cut on PostgreSQL (StatementTimeoutError); PGlite runs it to its end', async () => {
    const slow = db.query('SELECT pg_sleep(1.5)');
    if (onPostgres()) {
      await expect(slow).rejects.toBeInstanceOf(StatementTimeoutError);
      await expect(slow).rejects.toMatchObject({ timeoutMs: 500 });
    } else {
      await expect(slow).resolves.toHaveLength(1);
    }
  });

  test('maintenance and maintenance transactions are not cut, and the timeout holds again after them', async () => {
    await expect(db.maintenance((m) => m.query('SELECT pg_sleep(1) AS slept'))).resolves.toHaveLength(1);
    await expect(
      db.transaction((tx) => tx.query('SELECT pg_sleep(1) AS slept'), { maintenance: true }),
    ).resolves.toHaveLength(1);
    const [shown] = await db.query<{ statement_timeout: string }>('SHOW statement_timeout');
    // The pool has one connection: the one maintenance used is back with the configured timeout.
    expect(shown?.statement_timeout).toBe(onPostgres() ? '500ms' : '0');
  });

  test('waiting for the write lock is not cut by the timeout; the statements after it are', async () => {
    const key = 4242;
    let other: SqlClient | undefined;
    let holder: Promise<unknown> = Promise.resolve();
    if (onPostgres()) {
      // Another process holds the lock for 1.5 s, three times the statement timeout.
      other = await own.openAnother({ statementTimeoutMs: 0 });
      let locked: () => void = () => undefined;
      const taken = new Promise<void>((resolve) => {
        locked = resolve;
      });
      holder = other.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [key]);
        locked();
        await tx.query('SELECT pg_sleep(1.5)');
      });
      await taken;
    }
    const order: string[] = [];
    void holder.then(() => order.push('holder done'));
    await expect(
      db.transaction(
        async (tx) => {
          order.push('lock taken');
          return tx.query('SELECT 1 AS one');
        },
        { advisoryLock: key },
      ),
    ).resolves.toEqual([{ one: 1 }]);
    const slowUnderLock = db.transaction((tx) => tx.query('SELECT pg_sleep(1)'), { advisoryLock: key });
    if (onPostgres()) {
      expect(order).toEqual(['holder done', 'lock taken']);
      await expect(slowUnderLock).rejects.toBeInstanceOf(StatementTimeoutError);
    } else {
      await expect(slowUnderLock).resolves.toHaveLength(1);
    }
    await holder;
    await other?.close();
  });

  test('a statement whose signal aborts: cancelled on PostgreSQL, dropped from the queue on PGlite', async () => {
    const running = db.query('SELECT pg_sleep(0.4) AS first');
    const gaveUp = new AbortController();
    const waiting = db.query('SELECT 1 AS second', [], { signal: gaveUp.signal });
    gaveUp.abort();
    await expect(running).resolves.toHaveLength(1);
    // PostgreSQL: the pool's one connection is busy, so it had not started either; PGlite: still queued.
    await expect(waiting).rejects.toBeInstanceOf(QueryCancelledError);
  });
});

describe('HTTP over a store with STATEMENT_TIMEOUT_MS = 500', () => {
  let own: OwnDatabase;
  let dir: TestDirectory;
  beforeAll(async () => {
    own = await openOwnDatabase({ statementTimeoutMs: 500 });
    const store = createPostgresStore(slowStatements(own.db, { matches: SLOW_SEARCH, seconds: 1.5 }));
    dir = await startTestDirectory({ store, searchCacheMb: 0 });
  });
  afterAll(async () => {
    await dir.close();
    await own.cleanup();
  });

  test('a search slower than the timeout answers 503 `timeout` naming STATEMENT_TIMEOUT_MS on PostgreSQL', async () => {
    const res = await call('GET', dir.url('/Organization?name=slow'));
    if (onPostgres()) {
      expectOutcome(res, 503);
      expect(res.headers.get('retry-after')).toBe('1');
      const [first] = issuesOf(res);
      expect(first?.code).toBe('timeout');
      expect(first?.diagnostics).toContain('STATEMENT_TIMEOUT_MS (500 ms)');
    } else {
      // PGlite does not honour statement_timeout: the search runs to its end.
      expect(res.status).toBe(200);
      expect(res.body.resourceType).toBe('Bundle');
    }
  });

  test('other requests are not affected', async () => {
    const res = await call('GET', dir.url('/Organization?identifier=x'));
    expect(res.status).toBe(200);
  });
});

describe('a client that goes away', () => {
  let own: OwnDatabase;
  let dir: TestDirectory;
  let watcher: SqlClient | undefined;
  beforeAll(async () => {
    // No statement timeout: only the cancel can stop the 30-second search.
    own = await openOwnDatabase({ statementTimeoutMs: 0 });
    const seconds = onPostgres() ? 30 : 0.3;
    const store = createPostgresStore(slowStatements(own.db, { matches: SLOW_SEARCH, seconds }));
    dir = await startTestDirectory({ store, searchCacheMb: 0 });
    if (onPostgres()) watcher = await own.openAnother();
  });
  afterAll(async () => {
    await watcher?.close();
    await dir.close();
    await own.cleanup();
  });

  /** Sends a search and hangs up once `ready` says so; resolves when the socket is closed. */
  function searchAndHangUp(ready: () => Promise<boolean>): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(dir.url('/Organization?name=slow'));
      req.on('error', () => resolve()); // the socket we destroyed
      req.on('response', () => reject(new Error('the search answered before the client left')));
      req.end();
      until('the search is running', ready).then(
        () => {
          req.destroy();
          resolve();
        },
        (err: unknown) => reject(err as Error),
      );
    });
  }

  const runningSleeps = async (): Promise<number> => {
    const rows = await (watcher as SqlClient).query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'SELECT slowed.*%' AND state = 'active'`,
    );
    return Number(rows[0]?.n ?? 0);
  };

  test('on PostgreSQL its search statement is cancelled: gone from pg_stat_activity long before it would end', async () => {
    if (!onPostgres()) {
      // PGlite: a running WASM statement cannot be interrupted; the request still completes cleanly.
      await searchAndHangUp(() => Promise.resolve(true));
      const res = await call('GET', dir.url('/Organization?identifier=after'));
      expect(res.status).toBe(200);
      return;
    }
    await searchAndHangUp(async () => (await runningSleeps()) === 1);
    // The statement sleeps for 30 s; it is gone once the cancel reaches it.
    await until('the cancelled search leaves pg_stat_activity', async () => (await runningSleeps()) === 0);
    expect(await runningSleeps()).toBe(0);
    const res = await call('GET', dir.url('/Organization?identifier=after'));
    expect(res.status).toBe(200);
  });
});
