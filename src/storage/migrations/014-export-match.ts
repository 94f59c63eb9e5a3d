import type { Migration } from './index';

/**
 * `_typeFilter` as of an export's snapshot (src/storage/export-sql.ts): the search index holds only
 * current versions, so the kick-off records here the ids of the resources matching the job's
 * filters at its change sequence; its pages export the snapshot versions of those ids. Jobs with a
 * `_typeFilter` from before this migration matched on the current index at download time: they are
 * failed, saying why, so no client downloads a file that is not the snapshot it asked for.
 */
export const M014_EXPORT_MATCH: Migration = {
  id: 14,
  name: 'bulk export _typeFilter matches as of the snapshot',
  sql: `
    CREATE TABLE export_match (
      job_id text NOT NULL,
      resource_type text NOT NULL,
      id text NOT NULL,
      PRIMARY KEY (job_id, resource_type, id)
    );
    UPDATE export_job
      SET status = 'failed', expires_at = coalesce(expires_at, now()),
        error = 'the server was upgraded: _typeFilter is now matched as of transactionTime, kick off the export again'
      WHERE type_filters <> '{}'
  `,
};
