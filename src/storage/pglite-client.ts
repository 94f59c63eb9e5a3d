import { PGlite, type Extension } from '@electric-sql/pglite';
import type { QueryOptions, SqlClient, SqlExecutor, SqlValue, TransactionOptions } from './sql-client';
import { QueryCancelledError, translateSqlError } from './storage-errors';
import { parseTimestamptz, TIMESTAMPTZ_OID } from './pglite-timestamptz';

/**
 * Embedded PGlite: one connection in this process. Statements and transactions take turns through
 * one queue, so a statement can never run inside somebody else's open transaction.
 *
 * PGlite runs Postgres single-threaded in WASM and does not honour statement_timeout (measured:
 * `SET statement_timeout = 500; SELECT pg_sleep(2)` returns after 2 s, without error), and a running
 * WASM call cannot be interrupted. What it can do: a statement whose caller's signal aborted while it
 * waited in the queue is dropped there and never runs. Work per request is bounded on PGlite by the
 * request limits, and each search statement by SEARCH_MAX_COST (statement-cost.ts), before it runs.
 *
 * Each statement first yields to the event loop (setImmediate): a statement runs on this thread, so
 * a request that sends statements back to back would otherwise keep new requests (and cached answers,
 * which need no statement) waiting until its last one; after the yield they are read and queued in
 * between, and the queue takes turns.
 */
// The contrib entry point ships CommonJS but only ESM typings, so TypeScript cannot import it directly.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { pg_trgm } = require('@electric-sql/pglite/contrib/pg_trgm') as { pg_trgm: Extension };

export async function createPgliteClient(dataDir?: string): Promise<SqlClient> {
  const db = new PGlite({
    ...(dataDir === undefined ? {} : { dataDir }),
    extensions: { pg_trgm },
    parsers: { [TIMESTAMPTZ_OID]: parseTimestamptz },
  });
  await db.waitReady;
  let tail: Promise<unknown> = Promise.resolve();

  function exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  }

  async function run<Row>(text: string, params?: SqlValue[]): Promise<Row[]> {
    try {
      const result = await db.query<Row>(text, params);
      return result.rows;
    } catch (err) {
      throw translateSqlError(err, 0);
    }
  }

  return {
    driver: 'pglite',
    query<Row extends object>(text: string, params?: SqlValue[], options?: QueryOptions): Promise<Row[]> {
      const signal = options?.signal;
      return exclusive(async () => {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (signal?.aborted) throw new QueryCancelledError();
        return run<Row>(text, params);
      });
    },
    transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T> {
      // No statement timeout to lift (see above): a maintenance transaction is an ordinary one here.
      return exclusive(async () => {
        const tx: SqlExecutor = {
          query: async <Row>(text: string, params?: SqlValue[]): Promise<Row[]> => {
            await new Promise<void>((resolve) => setImmediate(resolve));
            return run<Row>(text, params);
          },
        };
        await db.exec('BEGIN');
        try {
          if (options?.advisoryLock !== undefined)
            await run('SELECT pg_advisory_xact_lock($1)', [options.advisoryLock]);
          const result = await work(tx);
          await db.exec('COMMIT');
          return result;
        } catch (err) {
          await db.exec('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
    },
    maintenance<T>(work: (db: SqlExecutor) => Promise<T>): Promise<T> {
      return exclusive(() => work({ query: run }));
    },
    close: () => exclusive(() => db.close()),
  };
}
