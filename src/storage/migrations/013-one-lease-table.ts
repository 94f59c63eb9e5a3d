import type { Migration } from './index';

/**
 * One lease mechanism (src/storage/lease-sql.ts) instead of three: export jobs kept theirs in
 * `export_job.owner`/`lease_until`, discovery in `discovery_lease`, followed sources inside
 * `directory_source.status` JSON (where any status rewrite could drop it). Every lease becomes a row
 * of `lease`, keyed by (kind, key); the leases held when this runs are moved over (a running process
 * keeps what it holds), then the old places are removed.
 */
export const M013_ONE_LEASE_TABLE: Migration = {
  id: 13,
  name: 'one lease table for export jobs, discovery endpoints and sync sources',
  sql: `
    CREATE TABLE lease (
      kind text NOT NULL,
      key text NOT NULL,
      holder text NOT NULL,
      expires_at timestamptz NOT NULL,
      PRIMARY KEY (kind, key)
    );
    CREATE INDEX lease_holder ON lease (kind, holder);
    INSERT INTO lease (kind, key, holder, expires_at)
      SELECT 'export-job', id, owner, lease_until FROM export_job
      WHERE owner IS NOT NULL AND lease_until IS NOT NULL AND status = 'running';
    INSERT INTO lease (kind, key, holder, expires_at)
      SELECT 'discovery-endpoint', endpoint_id, holder, expires_at FROM discovery_lease;
    INSERT INTO lease (kind, key, holder, expires_at)
      SELECT 'sync-source', name, status->'lease'->>'holder', (status->'lease'->>'until')::timestamptz
      FROM directory_source
      WHERE status->'lease'->>'holder' IS NOT NULL AND status->'lease'->>'until' IS NOT NULL;
    UPDATE directory_source SET status = status - 'lease' WHERE status->'lease' IS NOT NULL;
    DROP TABLE discovery_lease;
    ALTER TABLE export_job DROP COLUMN owner;
    ALTER TABLE export_job DROP COLUMN lease_until
  `,
};
