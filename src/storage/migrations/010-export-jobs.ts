import type { Migration } from './index';

/**
 * Bulk Data `$export` jobs (src/export/). A job holds no copy of what it exports: its files are read
 * again from `resource_history` at download time, as of `snapshot_seq` (every version with a change
 * sequence at or below it is committed and never changes), so a job is one row whatever its size.
 * - `since_seq`/`until_seq`: `_since`/`_until` resolved to change sequences at kick-off.
 * - `progress`: the counting pass's place (JSON), saved after every page, so a job survives a restart.
 * - `owner`/`lease_until`: the process running it; a lease that ran out (a crashed process) lets
 *   another process take the job over, where it left off.
 * - `expires_at`: set when the job completes (EXPORT_RETENTION_MINUTES); after it, 410.
 */
export const M010_EXPORT_JOBS: Migration = {
  id: 10,
  name: 'bulk export jobs',
  sql: `
    CREATE TABLE export_job (
      id text PRIMARY KEY,
      client_id text,
      request text NOT NULL,
      types text[] NOT NULL,
      type_filters text NOT NULL,
      since_seq bigint,
      until_seq bigint NOT NULL,
      snapshot_seq bigint NOT NULL,
      transaction_time text NOT NULL,
      status text NOT NULL,
      progress text NOT NULL,
      error text,
      owner text,
      lease_until timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz
    );
    CREATE INDEX export_job_status ON export_job (status, created_at)
  `,
};
