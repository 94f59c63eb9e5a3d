/**
 * ResourceStore over SQL (PostgreSQL or PGlite).
 *
 * Writes take one transaction-scoped advisory lock before anything else. That serialises writers, so
 * the change sequence is allocated in commit order (a history reader resuming from a cursor can never
 * miss a version that commits late), an If-Match check and its write cannot interleave with another
 * writer, and version numbers never collide. Reads take no lock. Writers of this process queue in
 * memory before they take a connection (write-queue.ts), so queued writes never starve reads of the
 * pool; written versions are counted towards the next background ANALYZE (statistics-keeper.ts).
 */
import type { Resource } from '@medplum/fhirtypes';
import { createAuthStore } from './auth-store';
import { createSourceStore } from './source-store';
import { createExportStore } from './export-store';
import { createDiscoveryStore } from './discovery-store';
import { replaceIndexRowsOfMany } from './index-writer';
import { CURRENT_COLUMNS, HISTORY_COLUMNS, toVersionRecord, type VersionRow } from './version-row';
import { runHistory, runIncludes, runSearch } from './search-runner';
import type { SqlClient, SqlExecutor, SqlValue } from './sql-client';
import type { HistoryPage, HistoryQuery, SearchResult } from './search-query';
import { DurationHistogram, secondsSince } from '../observability/duration-histogram';
import { pendingMigrations } from './migrations';
import { StatisticsKeeper } from './statistics-keeper';
import { WriteQueue } from './write-queue';
import { QueryCancelledError } from './storage-errors';
import { openWriteBehindSession } from './write-behind-session';
import type {
  ReadOptions,
  ResourceStore,
  StoreHead,
  VersionRecord,
  WriteOptions,
  WriteSession,
} from './resource-store';

const WRITE_LOCK_KEY = 0x64697277; // "dirw"

async function readCurrent(db: SqlExecutor, type: string, id: string): Promise<VersionRecord | undefined> {
  const rows = await db.query<VersionRow>(
    `SELECT ${CURRENT_COLUMNS} FROM resource WHERE resource_type = $1 AND id = $2`,
    [type, id],
  );
  return rows[0] && toVersionRecord(rows[0]);
}

async function readVersion(
  db: SqlExecutor,
  type: string,
  id: string,
  versionId: number,
): Promise<VersionRecord | undefined> {
  const rows = await db.query<VersionRow>(
    `SELECT ${HISTORY_COLUMNS} FROM resource_history WHERE resource_type = $1 AND id = $2 AND version_id = $3`,
    [type, id, versionId],
  );
  return rows[0] && toVersionRecord(rows[0]);
}

/**
 * What the store knows of its head without asking the database. On PGlite the database lives in this
 * process and nothing else can write to it, so every change passes through this store: the head read
 * after the last write stays exact until the next one, and a cached search answer costs no query. On
 * PostgreSQL another process may commit at any moment, so the head is always read.
 */
class HeadMemo {
  private known: StoreHead | undefined;
  /** Bumped when a write or reindex transaction ends: a head read that started before is not kept. */
  private generation = 0;

  constructor(private readonly exclusive: boolean) {}

  async read(query: () => Promise<StoreHead>): Promise<StoreHead> {
    if (this.known) return this.known;
    const started = this.generation;
    const head = await query();
    if (this.exclusive && started === this.generation) this.known = head;
    return head;
  }

  /**
   * Runs a search that reads the head in its own statement unless the head is known (then it is
   * answered as known: read before the search, so no newer than what the search sees), and keeps the
   * head it read when no write ended meanwhile, so that the next search need not read it.
   */
  async withHead(search: (readHead: boolean) => Promise<SearchResult>): Promise<SearchResult> {
    const known = this.known;
    if (known) return { ...(await search(false)), head: known };
    const started = this.generation;
    const result = await search(true);
    if (this.exclusive && result.head && started === this.generation) this.known ??= result.head;
    return result;
  }

  /** Runs a transaction that may move the head; forgets the head when it ends, committed or not. */
  async moving<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      this.generation += 1;
      this.known = undefined;
    }
  }
}

/** The executor a read runs on: the client itself, or the client with the caller's signal on every statement. */
function reader(db: SqlClient, options?: ReadOptions): SqlExecutor {
  const signal = options?.signal;
  if (!signal) return db;
  return { query: (text, params, queryOptions) => db.query(text, params, { ...queryOptions, signal }) };
}

export interface PostgresStoreOptions {
  /** Told about a background ANALYZE that failed (the store carries on; the next pass tries again). */
  onBackgroundError?: (err: unknown) => void;
}

export function createPostgresStore(db: SqlClient, options: PostgresStoreOptions = {}): ResourceStore {
  const headMemo = new HeadMemo(db.driver === 'pglite');
  // On PGlite's one connection a large page's content is read in slices, so that no statement of a
  // search holds it long; PostgreSQL serves other clients on other connections meanwhile.
  const sliced = db.driver === 'pglite';
  const writers = new WriteQueue();
  const statistics = new StatisticsKeeper(db, options.onBackgroundError);
  const lockWaits = new DurationHistogram();
  /** Runs `work` in a write transaction, recording how long the connection and the lock took. */
  const locked = <T>(work: (tx: SqlExecutor) => Promise<T>, maintenance: boolean): Promise<T> => {
    const turn = process.hrtime.bigint();
    return db.transaction(
      (tx) => {
        lockWaits.observe(secondsSince(turn));
        return work(tx);
      },
      { advisoryLock: WRITE_LOCK_KEY, ...(maintenance ? { maintenance } : {}) },
    );
  };
  let closing: Promise<void> | undefined;
  return {
    auth: createAuthStore(db),
    sources: createSourceStore(db),
    // A kick-off fixes its snapshot under the write lock, taking its turn with this process's writers.
    exports: createExportStore(db, (work) => writers.run(() => locked(work, false))),
    discovery: createDiscoveryStore(db),
    read: (type, id) => readCurrent(db, type, id),
    vread: (type, id, versionId) => readVersion(db, type, id, versionId),

    head(): Promise<StoreHead> {
      return headMemo.read(async () => {
        // max(seq) is one step down resource_history's primary key; both in one statement, one snapshot.
        const [row] = await db.query<{ seq: string | number | null; epoch: string | number | null }>(
          `SELECT (SELECT max(seq) FROM resource_history) AS seq, (SELECT epoch FROM store_epoch WHERE id = 1) AS epoch`,
          [],
          { prepareAs: 'store_head' },
        );
        return { seq: Number(row?.seq ?? 0), epoch: Number(row?.epoch ?? 0) };
      });
    },

    async typesChanged(after: number, upto: number): Promise<Set<string>> {
      const rows = await db.query<{ resource_type: string }>(
        'SELECT DISTINCT resource_type FROM resource_history WHERE seq > $1 AND seq <= $2',
        [after, upto],
      );
      return new Set(rows.map((row) => row.resource_type));
    },

    history: (query: HistoryQuery, options?: ReadOptions): Promise<HistoryPage> =>
      runHistory(reader(db, options), query),

    search: (query, options) =>
      options?.withHead
        ? headMemo.withHead((readHead) =>
            runSearch(reader(db, options), query, { maxCost: options.maxCost, withHead: readHead, sliced }),
          )
        : runSearch(reader(db, options), query, { maxCost: options?.maxCost, sliced }),
    include: (specs, matches, cap, options) =>
      runIncludes(reader(db, options), specs, matches, cap, options?.maxCost),

    async count(type?: string): Promise<number> {
      const [row] = type
        ? await db.query<{ n: string }>(
            'SELECT count(*) AS n FROM resource WHERE resource_type = $1 AND NOT deleted',
            [type],
          )
        : await db.query<{ n: string }>('SELECT count(*) AS n FROM resource WHERE NOT deleted');
      return Number(row?.n ?? 0);
    },

    async reindex(indexer, options = {}) {
      const batchSize = options.batchSize ?? 500;
      const typeFilter = options.type ? 'AND resource_type = $1' : '';
      const typeParams: SqlValue[] = options.type ? [options.type] : [];
      const [counted] = await db.query<{ n: string | number }>(
        `SELECT count(*) AS n FROM resource WHERE NOT deleted ${typeFilter}`,
        typeParams,
      );
      const total = Number(counted?.n ?? 0);
      let done = 0;
      let after: [string, string] = ['', ''];
      for (;;) {
        const params: SqlValue[] = [...typeParams, after[0], after[1], batchSize];
        const n = typeParams.length;
        const rows = await db.query<{ resource_type: string; id: string; content: string }>(
          `SELECT resource_type, id, content FROM resource
           WHERE NOT deleted ${typeFilter} AND (resource_type, id) > ($${n + 1}, $${n + 2}::text COLLATE "C")
           ORDER BY resource_type, id LIMIT $${n + 3}`,
          params,
        );
        if (rows.length === 0) break;
        // Under the write lock, like every write: a concurrent update cannot interleave with its reindex.
        await writers.run(() =>
          headMemo.moving(() =>
            locked(async (tx) => {
              // No history row records this change: the epoch tells response caches (in any process).
              await tx.query('UPDATE store_epoch SET epoch = epoch + 1 WHERE id = 1');
              await replaceIndexRowsOfMany(
                tx,
                rows.map((row) => ({
                  resourceType: row.resource_type,
                  id: row.id,
                  rows: indexer(JSON.parse(row.content) as Resource),
                  replacesRows: true,
                })),
              );
            }, true),
          ),
        );
        statistics.noteChanges(rows.length);
        done += rows.length;
        const last = rows[rows.length - 1] as { resource_type: string; id: string };
        after = [last.resource_type, last.id];
        options.onProgress?.(done, total);
      }
      return done;
    },

    importChunkSize: db.driver === 'pglite' ? 500 : 1000,

    analyze() {
      // VACUUM as well: it sets the visibility map, without which the planner prefers bitmap heap
      // scans (an index-only scan would visit the heap for every row a bulk load left unvacuumed).
      // Measured on the 70,000-resource bench: name=valley 30 -> 18 ms, the chained search
      // 640 -> 180 ms. VACUUM cannot run inside a transaction, nor under a statement timeout.
      return statistics.analyzeNow();
    },

    async write<T>(work: (session: WriteSession) => Promise<T>, writeOptions?: WriteOptions): Promise<T> {
      const signal = writeOptions?.signal;
      const abandonIfGone = (): void => {
        if (signal?.aborted) throw new QueryCancelledError();
      };
      let written = 0;
      const result = await writers.run(() => {
        abandonIfGone(); // its turn came after the client left: no connection, no lock
        return headMemo.moving(() =>
          locked(async (tx) => {
            // The wait for a connection and the lock may be long too: checked again, before any write.
            abandonIfGone();
            const { session, flush } = openWriteBehindSession(tx);
            const answer = await work(session);
            written = await flush();
            return answer;
          }, false),
        );
      });
      statistics.noteChanges(written);
      return result;
    },

    stats() {
      const pool = db.poolStats?.();
      const pacing = db.pacingStats?.();
      return {
        ...(pool ? { pool } : {}),
        ...(pacing ? { pacing } : {}),
        writeQueueWaits: writers.waits,
        writeLockWaits: lockWaits,
        writersWaiting: writers.waiting,
        analyze: statistics.stats,
      };
    },

    pendingMigrations: () => pendingMigrations(db),

    close() {
      closing ??= (async () => {
        await statistics.close();
        await db.close();
      })();
      return closing;
    },
  };
}
