import type { Migration } from './index';

/**
 * The current version of every resource, and every version ever written.
 * - `content` is the resource JSON exactly as served (text, not jsonb: key order kept, no re-serialising).
 * - `seq` is the global change sequence: taken under the write lock, so its order is commit order.
 * - a deleted resource keeps its row with `deleted = true` and no content, so reads answer 410.
 */
export const M001_RESOURCES: Migration = {
  id: 1,
  name: 'resources and history',
  sql: `
    CREATE SEQUENCE change_seq AS bigint;

    CREATE TABLE resource (
      resource_type text NOT NULL,
      id text COLLATE "C" NOT NULL,
      version_id integer NOT NULL,
      last_updated timestamptz NOT NULL,
      deleted boolean NOT NULL DEFAULT false,
      seq bigint NOT NULL,
      content text,
      PRIMARY KEY (resource_type, id)
    );
    CREATE INDEX resource_type_last_updated ON resource (resource_type, last_updated, id);

    CREATE TABLE resource_history (
      seq bigint PRIMARY KEY,
      resource_type text NOT NULL,
      id text COLLATE "C" NOT NULL,
      version_id integer NOT NULL,
      last_updated timestamptz NOT NULL,
      method text NOT NULL,
      content text,
      UNIQUE (resource_type, id, version_id)
    );
    CREATE INDEX resource_history_type_seq ON resource_history (resource_type, seq);
    CREATE INDEX resource_history_last_updated ON resource_history (last_updated, seq);
  `,
};
