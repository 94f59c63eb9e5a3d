import { Client, Pool, type PoolClient, type PoolConfig } from 'pg';
import type {
  PoolStats,
  QueryOptions,
  SqlClient,
  SqlExecutor,
  SqlValue,
  TransactionOptions,
} from './sql-client';
import { OwnerPacing, pacedStatement, type PacingSettings } from './owner-pacing';
import { currentOwner } from './statement-owner';
import { DatabaseBusyError, QueryCancelledError, translateSqlError } from './storage-errors';

export interface PgClientOptions {
  /** PostgreSQL's statement_timeout for every pooled connection, in ms (0 or absent: none). */
  statementTimeoutMs?: number;
  /** The longest a caller waits for a pooled connection (pg's connectionTimeoutMillis); 0 or absent: forever. */
  acquireTimeoutMs?: number;
  /** The schema to work in (tests give each file its own). */
  searchPath?: string;
  /** Pool size (10 when absent). */
  max?: number;
  /** CLIENT_DB_SHARE and COSTLY_REQUEST_MS: costly statements paced per client (owner-pacing.ts); none when absent. */
  pacing?: PacingSettings;
}

/**
 * A `pg` pool. Every statement and transaction holds one pooled connection of its own while it runs.
 *
 * A statement whose caller's signal aborts is cancelled with pg_cancel_backend from a separate,
 * unpooled connection: closing the socket alone would leave the backend running the query to its end
 * (PostgreSQL only notices a vanished client when it next writes to it). The connection is then
 * discarded rather than returned, so a late cancel can never hit the next user's statement.
 */
/**
 * One round trip (simple query protocol, several statements): lift the statement timeout, wait for
 * the lock, put the timeout back for the rest of the transaction. The lock is the key within the
 * current schema (two-key form, the schema's hash second): directories in different schemas of one
 * database (the tests' files, side by side) do not wait for each other's writes.
 */
function lockWithoutTimeout(options: TransactionOptions, statementTimeoutMs: number): string {
  const key = Math.trunc(Number(options.advisoryLock));
  const after = options.maintenance ? 0 : statementTimeoutMs;
  return `SET LOCAL statement_timeout = 0; SELECT pg_advisory_xact_lock(${key}, hashtext(current_schema())); SET LOCAL statement_timeout = ${after}`;
}

export function createPgClient(connectionString: string, options: PgClientOptions = {}): SqlClient {
  const statementTimeoutMs = options.statementTimeoutMs ?? 0;
  const acquireTimeoutMs = options.acquireTimeoutMs ?? 0;
  const connection: PoolConfig = {
    connectionString,
    ...(options.searchPath ? { options: `-c search_path=${options.searchPath}` } : {}),
  };
  const max = options.max ?? 10;
  const pacing = options.pacing ? new OwnerPacing(options.pacing) : undefined;
  const pool = new Pool({
    ...connection,
    max,
    ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
    ...(acquireTimeoutMs > 0 ? { connectionTimeoutMillis: acquireTimeoutMs } : {}),
  });
  // An idle client that loses its server emits 'error'; without a listener that would crash the process.
  pool.on('error', () => undefined);

  async function acquire(): Promise<PoolClient> {
    try {
      return await pool.connect();
    } catch (err) {
      // pg-pool: "timeout exceeded when trying to connect" (no client came free) or "Connection
      // terminated due to connection timeout" (a new connection took too long): both mean busy.
      if (acquireTimeoutMs > 0 && err instanceof Error && /timeout/i.test(err.message))
        throw new DatabaseBusyError(acquireTimeoutMs);
      throw err;
    }
  }

  async function cancelBackend(pid: number): Promise<void> {
    const canceller = new Client({ ...connection, connectionTimeoutMillis: 5000 });
    canceller.on('error', () => undefined);
    try {
      await canceller.connect();
      await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
    } catch {
      // The statement then runs to its end (or its statement_timeout); nothing else to do.
    } finally {
      await canceller.end().catch(() => undefined);
    }
  }

  /**
   * Runs `work` on a pooled connection, cancelling it when `signal` aborts. `discardOnError`: a
   * failed statement outside a transaction discards its connection, as pool.query does.
   */
  async function onConnection<T>(
    signal: AbortSignal | undefined,
    discardOnError: boolean,
    work: (client: PoolClient) => Promise<T>,
  ): Promise<T> {
    if (signal?.aborted) throw new QueryCancelledError();
    const client = await acquire();
    if (signal?.aborted) {
      client.release();
      throw new QueryCancelledError();
    }
    let cancelling: Promise<void> | undefined;
    const cancel = (): void => {
      const pid = (client as PoolClient & { processID: number | null }).processID;
      if (pid !== null) cancelling = cancelBackend(pid);
    };
    signal?.addEventListener('abort', cancel, { once: true });
    let failed = false;
    try {
      return await work(client);
    } catch (err) {
      failed = true;
      throw translateSqlError(err, statementTimeoutMs, signal);
    } finally {
      signal?.removeEventListener('abort', cancel);
      if (cancelling) await cancelling;
      client.release(cancelling !== undefined || (failed && discardOnError));
    }
  }

  return {
    driver: 'pg',
    poolStats: (): PoolStats => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      max,
    }),
    ...(pacing ? { pacingStats: () => pacing.stats() } : {}),
    query<Row extends object>(text: string, params?: SqlValue[], options?: QueryOptions): Promise<Row[]> {
      const owner = currentOwner();
      return pacedStatement(pacing, owner, options?.signal, (held) =>
        onConnection(options?.signal, true, (client) =>
          held(async () => {
            const result = options?.prepareAs
              ? await client.query<Row>({ name: options.prepareAs, text, values: params ?? [] })
              : await client.query<Row>(text, params);
            return result.rows;
          }),
        ),
      );
    },
    transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T> {
      return onConnection(undefined, false, async (client) => {
        const tx: SqlExecutor = {
          async query<Row extends object>(text: string, params?: SqlValue[]): Promise<Row[]> {
            return (await client.query<Row>(text, params)).rows;
          },
        };
        try {
          await client.query('BEGIN');
          if (options?.maintenance) await client.query('SET LOCAL statement_timeout = 0');
          if (options?.advisoryLock !== undefined)
            await client.query(lockWithoutTimeout(options, statementTimeoutMs));
          const result = await work(tx);
          await client.query('COMMIT');
          return result;
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
    },
    maintenance<T>(work: (db: SqlExecutor) => Promise<T>): Promise<T> {
      return onConnection(undefined, false, async (client) => {
        const db: SqlExecutor = {
          async query<Row extends object>(text: string, params?: SqlValue[]): Promise<Row[]> {
            return (await client.query<Row>(text, params)).rows;
          },
        };
        await client.query('SET statement_timeout = 0');
        try {
          return await work(db);
        } finally {
          // Back to the pool with the configured timeout (RESET returns to the connection's start-up value).
          await client.query('RESET statement_timeout').catch(() => undefined);
        }
      });
    },
    async close(): Promise<void> {
      await pool.end();
    },
  };
}
