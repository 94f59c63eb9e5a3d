/**
 * Numbered schema migrations, run at start-up in one transaction under an advisory lock, so several
 * server processes starting against one database apply each migration exactly once. The same SQL
 * runs on PostgreSQL and PGlite. No statement timeout applies: building an index may take long.
 */
import type { SqlClient, SqlExecutor } from '../sql-client';
import { M001_RESOURCES } from './001-resources';
import { M002_SEARCH_INDEX } from './002-search-index';
import { M003_INDEX_STATISTICS } from './003-index-statistics';
import { M004_STORE_EPOCH } from './004-store-epoch';
import { M005_LIVE_RESOURCE_INDEX } from './005-live-resource-index';
import { M006_STRING_STATISTICS } from './006-string-statistics';
import { M007_LONG_INDEX_VALUES } from './007-long-index-values';
import { M008_AUTH } from './008-auth';
import { M009_SOURCES } from './009-sources';
import { M010_EXPORT_JOBS } from './010-export-jobs';
import { M011_DISCOVERY } from './011-discovery';
import { M012_DISCOVERY_VERSIONS_PRUNING } from './012-discovery-versions-pruning';
import { M013_ONE_LEASE_TABLE } from './013-one-lease-table';
import { M014_EXPORT_MATCH } from './014-export-match';

export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  M001_RESOURCES,
  M002_SEARCH_INDEX,
  M003_INDEX_STATISTICS,
  M004_STORE_EPOCH,
  M005_LIVE_RESOURCE_INDEX,
  M006_STRING_STATISTICS,
  M007_LONG_INDEX_VALUES,
  M008_AUTH,
  M009_SOURCES,
  M010_EXPORT_JOBS,
  M011_DISCOVERY,
  M012_DISCOVERY_VERSIONS_PRUNING,
  M013_ONE_LEASE_TABLE,
  M014_EXPORT_MATCH,
];

/** Any constant works; this one spells "fhir" so it is recognisable in pg_locks. */
const MIGRATION_LOCK_KEY = 0x66686972;

export async function migrate(db: SqlClient): Promise<number[]> {
  return db.transaction(
    async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await tx.query(
        `CREATE TABLE IF NOT EXISTS schema_migration (
         id integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
      );
      const done = await tx.query<{ id: number }>('SELECT id FROM schema_migration');
      const applied = new Set(done.map((row) => Number(row.id)));
      const ran: number[] = [];
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.id)) continue;
        for (const statement of splitStatements(migration.sql)) await tx.query(statement);
        await tx.query('INSERT INTO schema_migration (id, name) VALUES ($1, $2)', [
          migration.id,
          migration.name,
        ]);
        ran.push(migration.id);
      }
      return ran;
    },
    { maintenance: true },
  );
}

/**
 * The ids of MIGRATIONS not recorded in schema_migration: what /ready checks. Throws when the
 * database does not answer (or has no schema_migration table: nothing was ever migrated).
 */
export async function pendingMigrations(db: SqlExecutor): Promise<number[]> {
  const done = await db.query<{ id: number }>('SELECT id FROM schema_migration');
  const applied = new Set(done.map((row) => Number(row.id)));
  return MIGRATIONS.filter((migration) => !applied.has(migration.id)).map((migration) => migration.id);
}

/** Migrations are plain DDL without functions or quoted semicolons, so splitting on ';' is safe. */
function splitStatements(sql: string): string[] {
  return sql
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
