import { PGlite, type Extension } from '@electric-sql/pglite';
import { parseTimestamptz, TIMESTAMPTZ_OID } from './pglite-timestamptz';
import type { SqlClient, SqlExecutor, SqlValue } from './sql-client';

/**
 * Embedded PGlite: one connection in this process. Statements and transactions take turns through
 * one queue, so a statement can never run inside somebody else's open transaction.
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
    const result = await db.query<Row>(text, params);
    return result.rows;
  }

  return {
    driver: 'pglite',
    query<Row extends object>(text: string, params?: SqlValue[]): Promise<Row[]> {
      return exclusive(() => run<Row>(text, params));
    },
    transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      return exclusive(async () => {
        const tx: SqlExecutor = { query: run };
        await db.exec('BEGIN');
        try {
          const result = await work(tx);
          await db.exec('COMMIT');
          return result;
        } catch (err) {
          await db.exec('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
    },
    close: () => exclusive(() => db.close()),
  };
}
