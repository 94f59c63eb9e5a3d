import type { Migration } from './index';

/**
 * A counter that changes whenever search results can change without a new history row: `reindex`
 * rewrites index rows in place and bumps it in the same transaction as each batch. Together with the
 * newest committed change sequence it is the store's "head" (ResourceStore.head), which the search
 * response cache compares to decide whether a cached answer is still the answer. One row, always.
 */
export const M004_STORE_EPOCH: Migration = {
  id: 4,
  name: 'store epoch for the response cache',
  sql: `
    CREATE TABLE store_epoch (
      id integer PRIMARY KEY CHECK (id = 1),
      epoch bigint NOT NULL
    );
    INSERT INTO store_epoch (id, epoch) VALUES (1, 0);
  `,
};
