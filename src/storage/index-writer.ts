/**
 * Replaces a resource's search index rows in one statement: data-modifying CTEs delete the old rows
 * and insert the new ones (unnest over one array per column), so a write costs one round trip here
 * however many parameters the resource has. Every btree-indexed text column gets its indexed form
 * (indexed-text.ts), so no value is too long for its index.
 */
import type { SqlExecutor, SqlValue } from './sql-client';
import { indexedText, indexedTextOrNull } from './indexed-text';
import type { IndexRows } from './search-index';

const REPLACE_SQL = `
WITH
  d1 AS (DELETE FROM search_string WHERE resource_type = $1 AND id = $2),
  d2 AS (DELETE FROM search_token WHERE resource_type = $1 AND id = $2),
  d3 AS (DELETE FROM search_reference WHERE resource_type = $1 AND id = $2),
  d4 AS (DELETE FROM search_date WHERE resource_type = $1 AND id = $2),
  d5 AS (DELETE FROM search_number WHERE resource_type = $1 AND id = $2),
  d6 AS (DELETE FROM search_quantity WHERE resource_type = $1 AND id = $2),
  d7 AS (DELETE FROM search_uri WHERE resource_type = $1 AND id = $2),
  i1 AS (INSERT INTO search_string (resource_type, id, param, norm, exact)
         SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::text[])),
  i2 AS (INSERT INTO search_token (resource_type, id, param, system, code, text)
         SELECT $1, $2, * FROM unnest($6::text[], $7::text[], $8::text[], $9::text[])),
  i3 AS (INSERT INTO search_reference (resource_type, id, param, target_type, target_id, raw)
         SELECT $1, $2, * FROM unnest($10::text[], $11::text[], $12::text[], $13::text[])),
  i4 AS (INSERT INTO search_date (resource_type, id, param, lo, hi)
         SELECT $1, $2, p, lo::timestamptz, hi::timestamptz FROM unnest($14::text[], $15::text[], $16::text[]) AS t(p, lo, hi)),
  i5 AS (INSERT INTO search_number (resource_type, id, param, value)
         SELECT $1, $2, * FROM unnest($17::text[], $18::numeric[])),
  i6 AS (INSERT INTO search_quantity (resource_type, id, param, value, system, code)
         SELECT $1, $2, * FROM unnest($19::text[], $20::numeric[], $21::text[], $22::text[])),
  i7 AS (INSERT INTO search_uri (resource_type, id, param, value)
         SELECT $1, $2, * FROM unnest($23::text[], $24::text[]))
SELECT 1`;

export async function replaceIndexRows(
  tx: SqlExecutor,
  type: string,
  id: string,
  rows: IndexRows | null,
): Promise<void> {
  const r = rows ?? { string: [], token: [], reference: [], date: [], number: [], quantity: [], uri: [] };
  const params: SqlValue[] = [
    type,
    id,
    r.string.map((x) => x.param),
    r.string.map((x) => indexedText(x.norm)),
    r.string.map((x) => x.exact),
    r.token.map((x) => x.param),
    r.token.map((x) => indexedTextOrNull(x.system)) as string[],
    r.token.map((x) => indexedTextOrNull(x.code)) as string[],
    r.token.map((x) => x.text) as string[],
    r.reference.map((x) => x.param),
    r.reference.map((x) => indexedTextOrNull(x.targetType)) as string[],
    r.reference.map((x) => indexedTextOrNull(x.targetId)) as string[],
    r.reference.map((x) => x.raw),
    r.date.map((x) => x.param),
    r.date.map((x) => x.lo),
    r.date.map((x) => x.hi),
    r.number.map((x) => x.param),
    r.number.map((x) => x.value),
    r.quantity.map((x) => x.param),
    r.quantity.map((x) => x.value),
    r.quantity.map((x) => x.system) as string[],
    r.quantity.map((x) => x.code) as string[],
    r.uri.map((x) => x.param),
    r.uri.map((x) => indexedText(x.value)),
  ];
  await tx.query(REPLACE_SQL, params);
}
