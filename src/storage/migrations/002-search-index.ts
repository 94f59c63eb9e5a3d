import type { Migration } from './index';

/**
 * Search index tables, one per search parameter type, keyed by (resource_type, param): a new
 * SearchParameter needs `fhir-directory reindex`, never a migration. pg_trgm backs :contains; it is
 * created in `public` so that every schema of a database (tests use one each) shares one copy.
 */
export const M002_SEARCH_INDEX: Migration = {
  id: 2,
  name: 'search index tables',
  sql: `
    CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

    CREATE TABLE search_string (
      resource_type text NOT NULL, id text COLLATE "C" NOT NULL, param text NOT NULL,
      norm text COLLATE "C" NOT NULL, exact text NOT NULL
    );
    CREATE INDEX search_string_lookup ON search_string (resource_type, param, norm, id);
    CREATE INDEX search_string_owner ON search_string (resource_type, id, param);
    CREATE INDEX search_string_trgm ON search_string USING gin (norm public.gin_trgm_ops);

    CREATE TABLE search_token (
      resource_type text NOT NULL, id text COLLATE "C" NOT NULL, param text NOT NULL,
      system text, code text, text text
    );
    CREATE INDEX search_token_lookup ON search_token (resource_type, param, code, system, id);
    CREATE INDEX search_token_owner ON search_token (resource_type, id, param);

    CREATE TABLE search_reference (
      resource_type text NOT NULL, id text COLLATE "C" NOT NULL, param text NOT NULL,
      target_type text, target_id text COLLATE "C", raw text NOT NULL
    );
    CREATE INDEX search_reference_lookup ON search_reference (resource_type, param, target_id, target_type, id);
    CREATE INDEX search_reference_target ON search_reference (target_type, target_id);
    CREATE INDEX search_reference_owner ON search_reference (resource_type, id, param);

    CREATE TABLE search_date (
      resource_type text NOT NULL, id text COLLATE "C" NOT NULL, param text NOT NULL,
      lo timestamptz NOT NULL, hi timestamptz NOT NULL
    );
    CREATE INDEX search_date_lookup ON search_date (resource_type, param, lo, hi, id);
    CREATE INDEX search_date_owner ON search_date (resource_type, id, param);

    CREATE TABLE search_number (
      resource_type text NOT NULL, id text COLLATE "C" NOT NULL, param text NOT NULL, value numeric NOT NULL
    );
    CREATE INDEX search_number_lookup ON search_number (resource_type, param, value);
    CREATE INDEX search_number_owner ON search_number (resource_type, id, param);

    CREATE TABLE search_quantity (
      resource_type text NOT NULL, id text COLLATE "C" NOT NULL, param text NOT NULL,
      value numeric NOT NULL, system text, code text
    );
    CREATE INDEX search_quantity_lookup ON search_quantity (resource_type, param, value);
    CREATE INDEX search_quantity_owner ON search_quantity (resource_type, id, param);

    CREATE TABLE search_uri (
      resource_type text NOT NULL, id text COLLATE "C" NOT NULL, param text NOT NULL, value text COLLATE "C" NOT NULL
    );
    CREATE INDEX search_uri_lookup ON search_uri (resource_type, param, value, id);
    CREATE INDEX search_uri_owner ON search_uri (resource_type, id, param);
  `,
};
