/**
 * A database of the test's own with the SqlClient in the test's hands, for tests that look at the
 * database itself (pg_stat_activity, pg_class) or give the store a client with other settings:
 * in-memory PGlite (or a copy of the migrated template), or, when DATABASE_URL is set, a fresh
 * PostgreSQL schema dropped by cleanup().
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { migrate } from '../../src/storage/migrations';
import { openSqlClient, type DatabaseOptions } from '../../src/storage/open-sql-client';
import type { SqlClient } from '../../src/storage/sql-client';
import { TEMPLATE_VARIABLE } from './pglite-template';

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

/**
 * `fromTemplate`: on PGlite, a copy of the run's migrated template (pglite-template.ts) instead of
 * an in-memory database, which pays initdb and every migration (a minute under load).
 */
export async function openOwnDatabase(
  options: Partial<DatabaseOptions> = {},
  { fromTemplate = false }: { fromTemplate?: boolean } = {},
): Promise<OwnDatabase> {
  const databaseUrl = process.env.DATABASE_URL;
  const template = process.env[TEMPLATE_VARIABLE];
  if (!databaseUrl && fromTemplate && template) {
    const copy = mkdtempSync(join(tmpdir(), 'fd-test-own-'));
    cpSync(template, copy, { recursive: true });
    const db = await openSqlClient({ ...options, dataDir: copy });
    await migrate(db);
    return {
      db,
      openAnother: () => Promise.reject(new Error('PGlite has one connection')),
      cleanup: () => Promise.resolve(rmSync(copy, { recursive: true, force: true })),
    };
  }
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
