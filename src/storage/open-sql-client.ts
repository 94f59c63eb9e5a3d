import { createPgClient } from './pg-client';
import { createPgliteClient } from './pglite-client';
import type { PacingSettings } from './owner-pacing';
import type { SqlClient } from './sql-client';

export interface DatabaseOptions {
  /** A PostgreSQL connection string; when absent, embedded PGlite is used. */
  databaseUrl?: string;
  /** PGlite's data directory; `undefined` keeps the database in memory (tests). */
  dataDir?: string;
  /** PostgreSQL only: the schema to work in (tests give each file its own). */
  searchPath?: string;
  /**
   * The longest one SQL statement may run, in ms (0 or absent: no limit). PostgreSQL only: PGlite
   * does not honour statement_timeout (pglite-client.ts).
   */
  statementTimeoutMs?: number;
  /** pg only: the longest a caller waits for a pooled connection, in ms, before DatabaseBusyError. */
  dbAcquireTimeoutMs?: number;
  /** pg only: the pool size (10 when absent). */
  poolSize?: number;
  /** CLIENT_DB_SHARE and COSTLY_REQUEST_MS (owner-pacing.ts); no pacing when absent. */
  pacing?: PacingSettings;
}

export function openSqlClient(options: DatabaseOptions): Promise<SqlClient> {
  if (options.databaseUrl) {
    return Promise.resolve(
      createPgClient(options.databaseUrl, {
        ...(options.searchPath ? { searchPath: options.searchPath } : {}),
        ...(options.statementTimeoutMs === undefined
          ? {}
          : { statementTimeoutMs: options.statementTimeoutMs }),
        ...(options.dbAcquireTimeoutMs === undefined ? {} : { acquireTimeoutMs: options.dbAcquireTimeoutMs }),
        ...(options.poolSize === undefined ? {} : { max: options.poolSize }),
        ...(options.pacing ? { pacing: options.pacing } : {}),
      }),
    );
  }
  return createPgliteClient(options.dataDir, options.pacing);
}
