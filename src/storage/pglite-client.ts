import type { QueryOptions, SqlClient, SqlExecutor, SqlValue, TransactionOptions } from './sql-client';
import { QueryCancelledError, translateSqlError } from './storage-errors';
import { FairQueue } from './fair-queue';
import { OwnerPacing, pacedStatement, type PacingSettings } from './owner-pacing';
import { startPgliteThread } from './pglite-thread';
import {
  ARRAY_TYPES_SQL,
  baseParsers,
  extendedQuery,
  rowsOf,
  simpleQuery,
  withArrayParsers,
} from './pglite-wire';
import { currentOwner } from './statement-owner';

/**
 * Embedded PGlite: one connection in this process, on a thread of its own (pglite-thread.ts), so that
 * a statement never holds the event loop. Statements and transactions take turns on it through one
 * fair queue (fair-queue.ts): a statement can never run inside somebody else's open transaction, and
 * the turns are shared fairly between the clients whose requests send them (statement-owner.ts), so
 * a client that has just held the connection for long waits behind those that have not.
 *
 * PGlite does not honour statement_timeout (measured: `SET statement_timeout = 500; SELECT
 * pg_sleep(2)` returns after 2 s, without error), and a running statement cannot be interrupted. What
 * it can do: a statement whose caller's signal aborted while it waited in the queue is dropped there
 * and never runs. Work per request is bounded on PGlite by the request limits, and each search
 * statement by SEARCH_MAX_COST (statement-cost.ts), before it runs.
 */
export async function createPgliteClient(
  dataDir?: string,
  pacingSettings?: PacingSettings,
): Promise<SqlClient> {
  const db = await startPgliteThread(dataDir);
  // Statements go to the thread as wire-protocol bytes and their rows are parsed here (pglite-wire.ts).
  const base = baseParsers();
  const parsers = withArrayParsers(
    base,
    rowsOf<{ oid: number; typarray: number }>(
      await db.run(extendedQuery(ARRAY_TYPES_SQL)),
      base,
      ARRAY_TYPES_SQL,
    ),
  );
  const exec = async (text: string): Promise<void> => {
    rowsOf(await db.run(simpleQuery(text)), parsers, text);
  };
  // '' is currentOwner() outside any client's request: the directory's own background work.
  const queue = new FairQueue({ background: '' });
  // The fair queue shares the connection between clients that wait for it; pacing (owner-pacing.ts)
  // also keeps a client's costly statements from taking the core that cached answers need.
  const pacing = pacingSettings ? new OwnerPacing(pacingSettings) : undefined;

  async function run<Row>(text: string, params?: SqlValue[]): Promise<Row[]> {
    try {
      return rowsOf<Row>(await db.run(extendedQuery(text, params)), parsers, text);
    } catch (err) {
      throw translateSqlError(err, 0);
    }
  }

  return {
    driver: 'pglite',
    ...(pacing ? { pacingStats: () => pacing.stats() } : {}),
    query<Row extends object>(text: string, params?: SqlValue[], options?: QueryOptions): Promise<Row[]> {
      const signal = options?.signal;
      const owner = currentOwner();
      return pacedStatement(pacing, owner, signal, (held) =>
        queue.run(owner, async () => {
          if (signal?.aborted) throw new QueryCancelledError();
          return held(() => run<Row>(text, params));
        }),
      );
    },
    transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T> {
      // No statement timeout to lift (see above): a maintenance transaction is an ordinary one here.
      return queue.run(currentOwner(), async () => {
        const tx: SqlExecutor = { query: run };
        await exec('BEGIN');
        try {
          if (options?.advisoryLock !== undefined)
            await run('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [options.advisoryLock]);
          const result = await work(tx);
          await exec('COMMIT');
          return result;
        } catch (err) {
          await exec('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
    },
    maintenance<T>(work: (db: SqlExecutor) => Promise<T>): Promise<T> {
      return queue.run(currentOwner(), () => work({ query: run }));
    },
    close: () => queue.run('', () => db.close()),
  };
}
