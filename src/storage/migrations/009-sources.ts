import type { Migration } from './index';

/**
 * The sources the directory follows or imports (DESIGN.md, "Who owns an entry"): another directory,
 * a developer's published service-base-URL list, the NPPES endpoint file. `uri` is the value put in
 * `meta.source` of every entry the source owns, so ownership is read from what is stored; `checkpoint`
 * is the source's own resume point, advanced in the transaction that commits what it covers; `status`
 * and `report` are what operators read (the last run, the last quality report).
 */
export const M009_SOURCES: Migration = {
  id: 9,
  name: 'sources: followed directories and imported lists',
  sql: `
    CREATE TABLE directory_source (
      name text PRIMARY KEY,
      kind text NOT NULL,
      uri text NOT NULL UNIQUE,
      url text,
      settings jsonb NOT NULL DEFAULT '{}'::jsonb,
      checkpoint jsonb,
      status jsonb,
      report jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  `,
};
