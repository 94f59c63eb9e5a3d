/**
 * A database of the test's own with the SqlClient in the test's hands, for tests that look at the
 * database itself (pg_stat_activity, pg_class) or give the store a client with other settings:
 * in-memory PGlite, or, when DATABASE_URL is set, a fresh PostgreSQL schema dropped by cleanup().
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { migrate } from '../../src/storage/migrations';
import { openSqlClient, type DatabaseOptions } from '../../src/storage/open-sql-client';
import type { SqlClient } from '../../src/storage/sql-client';

export interface OwnDatabase {
  db: SqlClient;
  /** Opens another client on the same database (PostgreSQL only; PGlite has one connection). */
  openAnother(options?: Partial<DatabaseOptions>): Promise<SqlClient>;
  /** Drops the schema (PostgreSQL); close the clients first. */
  cleanup(): Promise<void>;
}

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function openOwnDatabase(options: Partial<DatabaseOptions> = {}): Promise<OwnDatabase> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const db = await openSqlClient({ ...options });
    await migrate(db);
    return {
      db,
      openAnother: () => Promise.reject(new Error('PGlite has one connection')),
      cleanup: () => Promise.resolve(),
    };
  }
  const schema = `test_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE SCHEMA ${schema}`);
  const open = (more: Partial<DatabaseOptions> = {}): Promise<SqlClient> =>
    openSqlClient({ ...options, ...more, databaseUrl, searchPath: schema });
  const db = await open();
  await migrate(db);
  return { db, openAnother: open, cleanup: () => admin(`DROP SCHEMA ${schema} CASCADE`) };
}
