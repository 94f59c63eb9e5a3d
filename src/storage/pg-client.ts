import { Pool, type PoolConfig } from 'pg';
import type { QueryOptions, SqlClient, SqlExecutor, SqlValue } from './sql-client';

/** A `pg` pool. Each transaction holds one pooled connection from BEGIN to COMMIT/ROLLBACK. */
export function createPgClient(connectionString: string, extra: PoolConfig = {}): SqlClient {
  const pool = new Pool({ connectionString, max: 10, ...extra });
  // An idle client that loses its server emits 'error'; without a listener that would crash the process.
  pool.on('error', () => undefined);

  return {
    driver: 'pg',
    async query<Row extends object>(
      text: string,
      params?: SqlValue[],
      options?: QueryOptions,
    ): Promise<Row[]> {
      const result = options?.prepareAs
        ? await pool.query<Row>({ name: options.prepareAs, text, values: params ?? [] })
        : await pool.query<Row>(text, params);
      return result.rows;
    },
    async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      const tx: SqlExecutor = {
        async query<Row extends object>(text: string, params?: SqlValue[]): Promise<Row[]> {
          return (await client.query<Row>(text, params)).rows;
        },
      };
      try {
        await client.query('BEGIN');
        const result = await work(tx);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async close(): Promise<void> {
      await pool.end();
    },
  };
}
